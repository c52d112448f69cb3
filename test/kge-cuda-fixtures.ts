/** Shared by the jest device battery (test/kge-cuda-backend.test.ts) and its GPU-machine half (bench/kge-gpu/parity.ts). */
import { CudaBackend } from '../src/kge/backends/cuda';
import { baseConfig, makeInit, randomGraph } from './kge-backend-fixtures';

export interface EventLoopProbe {
  finite: boolean;
  ticks: number;
  ms: number;
  /** The event loop kept ticking: at least a quarter of the 5 ms ticks the call's wall time allows. */
  kept: boolean;
}

/** A long trainRun with a 5 ms interval timer beside it: a BullMQ worker renews its lock while the GPU trains. */
export async function eventLoopDuringTrainRun(): Promise<EventLoopProbe> {
  const big = randomGraph(200000, 8, 400000, 3);
  const cu = new CudaBackend(makeInit(big, 'transr', baseConfig({ negatives: 64 }), 64, 64), { placement: 'resident' });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = Date.now();
  try {
    const r = await cu.trainRun({ heads: big.heads, relations: big.relations, tails: big.tails, epoch: 0, offset: 0, batchSize: 4096, firstStep: 1 });
    const ms = Date.now() - t0;
    return { finite: r.losses.every(Number.isFinite), ticks, ms, kept: ms <= 100 || ticks >= Math.floor(ms / 5 / 4) };
  } finally {
    clearInterval(timer);
    cu.dispose();
  }
}
