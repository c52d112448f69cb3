/**
 * The cuda backend's device battery (kge-cuda-battery.ts) without a GPU: the engine's own sources — kernels,
 * launchers, host code, addon — built with g++ against the host emulation of CUDA (`node cuda/build.js --emulation`,
 * cuda/test/emu), whose device runs each thread block as fibers on the CPU: lanes interleave only at barriers and
 * shuffles and run in an order a GPU may also take (a race between lanes shows), device memory starts as NaN, 16-byte
 * accesses are checked for alignment, mma.sync and cp.async follow the PTX ISA, a launch a GPU would refuse is
 * refused, and a stream's work runs only when the host waits for it (a result read before the wait is stale). What it does not show is speed, and timing-dependent behaviour of real warps; bench/kge-gpu runs the
 * battery on a GPU.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TRAJECTORY_TOLERANCE } from '../src/kge/backends/backend';
import { CudaBackend, cudaDeviceInfo } from '../src/kge/backends/cuda';
import { writeTripleSet } from '../src/common/triple-set';
import { cudaBattery } from './kge-cuda-battery';
import { baseConfig, makeInit, maxRelDiff, randomGraph } from './kge-backend-fixtures';
import { readKgArchive } from './kge-fixtures';
import { runAsQueueJob } from './queue-job-fixtures';

const root = path.resolve(__dirname, '..');
const build = spawnSync(process.execPath, [path.join(root, 'cuda', 'build.js'), '--emulation'], { encoding: 'utf8' });
// This file's process.env only (jest gives each test file its own).
process.env.ADKG_CUDA_ADDON = path.join(root, 'cuda', 'build', 'Emulation', 'adkg_cuda.node');

test('the engine builds against the host emulation and reports the emulated device', () => {
  expect({ status: build.status, stderr: build.status === 0 ? '' : build.stderr }).toEqual({ status: 0, stderr: '' });
  const info = cudaDeviceInfo();
  expect(info).toMatchObject({ ok: true, device: 'host emulation (no GPU)', computeCapability: '9.0' });
});

/** The emulated addon's own export: the order in which blocks and threads run (cuda/test/emu). */
function emulationOrder(order: 'forward' | 'reverse'): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  (require(process.env.ADKG_CUDA_ADDON!) as { emulationOrder(o: string): void }).emulationOrder(order);
}

// Twice: threads and blocks from the first, then from the last. A lane or block that reads what another writes
// without a barrier between sees the write in one order and not in the other.
describe('cuda backend vs js reference (host emulation of CUDA, threads and blocks from the first)', () => {
  beforeAll(() => emulationOrder('forward'));
  cudaBattery({ emulated: true });
});
describe('cuda backend vs js reference (host emulation of CUDA, threads and blocks from the last)', () => {
  beforeAll(() => emulationOrder('reverse'));
  afterAll(() => emulationOrder('forward'));
  cudaBattery({ emulated: true });
});

test('emulationOrder refuses anything but forward or reverse, by name', () => {
  expect(() => emulationOrder('sideways' as never)).toThrow('emulationOrder must be forward or reverse, got sideways');
});

// What failed on the GPU in run 7 (the CLI's validation through scoreAll on the tables kept on the device): the CLI
// itself, in a child process, with --backend cuda on the emulated device and with --backend js on the same schedule.
test('adkg train --model transr --backend cuda (emulated) runs end to end: the loss history and test MRR of --backend js', async () => {
  const ts = await readKgArchive('nations');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adkg-cuda-emu-cli-'));
  try {
    await writeTripleSet(path.join(dir, 'nations'), ts);
    const train = (backend: string): Record<string, unknown> => {
      const r = spawnSync(process.execPath, [path.join(root, 'bin', 'adkg.js'), 'train', '--triples', path.join(dir, 'nations'), '--model', 'transr',
        '--dim', '8', '--rel-dim', '8', '--epochs', '3', '--batch', '256', '--negatives', '8', '--backend', backend, '--json', '--no-progress',
        '--out', path.join(dir, backend)], { encoding: 'utf8', env: { ...process.env } });
      expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr.slice(-2000) }).toEqual({ status: 0, stderr: '' });
      const lines = r.stdout.trim().split('\n');
      return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    };
    const cuda = train('cuda'), js = train('js');
    expect(cuda.backend).toBe('cuda');
    const lc = cuda.lossHistory as number[], lj = js.lossHistory as number[];
    expect(lc).toHaveLength(3);
    expect(maxRelDiff(lj, lc)).toBeLessThan(TRAJECTORY_TOLERANCE);
    const mrr = (r: Record<string, unknown>) => (r.test as { mrr: number }).mrr;
    expect(mrr(cuda)).toBeGreaterThan(0);
    expect(Math.abs(mrr(cuda) - mrr(js))).toBeLessThan(0.01);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 600_000);

// What the async calls are for: a BullMQ worker (real BullMQ, the project's Redis) keeps its job's lock through one
// trainRun call (a whole run of batches) lasting several lock durations; test/kge-queue-lock.test.ts has the control
// that stalls, and the same for the native backend. The GPU machine has no Redis, so this runs here only.
test('a BullMQ job keeps its lock through one cuda trainRun call (emulated) of several lock durations', async () => {
  const LOCK_MS = 300;
  const g = randomGraph(2000, 8, 2048, 3);
  const cu = new CudaBackend(makeInit(g, 'transr', baseConfig({ negatives: 16 }), 16, 16), { placement: 'resident' });
  try {
    const out = await runAsQueueJob(async () => {
      const r = await cu.trainRun({ heads: g.heads, relations: g.relations, tails: g.tails, epoch: 0, offset: 0, batchSize: 512, firstStep: 1 });
      return Array.from(r.losses); // a job's result goes through JSON
    }, LOCK_MS);
    console.log(`kge-cuda-emulated: one emulated trainRun (4 batches of 512) took ${out.workMs} ms under a ${LOCK_MS} ms lock: ${out.state}`);
    expect(out.workMs).toBeGreaterThanOrEqual(3 * LOCK_MS);
    expect({ state: out.state, stalled: out.stalled, errors: out.errors, failedReason: out.failedReason }).toEqual({
      state: 'completed', stalled: [], errors: [], failedReason: undefined,
    });
    expect(out.result).toHaveLength(4);
    expect(out.result!.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
  } finally {
    cu.dispose();
  }
}, 300_000);
