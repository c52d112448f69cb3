/**
 * A BullMQ worker keeps its job's lock while the native backend trains (real BullMQ, the project's Redis): one
 * trainBatch call lasts several lock durations, and the job completes with no stall, because the call runs on the
 * thread pool and the worker's event loop goes on renewing the lock. The control, the same wait done synchronously on
 * the event loop, stalls: so the harness can tell the two apart.
 */
import type { TrainBatch } from '../src/kge/backends/backend';
import { nativeBackendFactory } from '../src/kge/backends/native';
import { baseConfig, makeInit, randomGraph } from './kge-backend-fixtures';
import { runAsQueueJob } from './queue-job-fixtures';

const LOCK_MS = 400;
// A call is long enough when it outlasts three locks (a blocked loop would then have lost the lock for certain).
const LONG_MS = 3 * LOCK_MS;

test('control: work that blocks the event loop for three lock durations stalls and fails its job', async () => {
  const out = await runAsQueueJob(() => {
    const t0 = Date.now();
    while (Date.now() - t0 < LONG_MS + LOCK_MS);
    return 'blocked';
  }, LOCK_MS);
  expect(out.workMs).toBeGreaterThanOrEqual(LONG_MS);
  expect(out.state).toBe('failed');
  expect(out.stalled).toHaveLength(1);
  expect(out.failedReason).toMatch(/stalled/);
}, 60_000);

const available = nativeBackendFactory.available();
if (!available.ok) console.warn(`kge-queue-lock native test skipped: ${available.reason}`);
(available.ok ? test : test.skip)('a BullMQ job keeps its lock through one native trainBatch call of several lock durations', async () => {
  let backend: ReturnType<typeof nativeBackendFactory.create> | undefined;
  try {
    // The smallest graph, doubling from 40,000 triples, whose one-batch step outlasts LONG_MS on this machine
    // (one thread, so that the event loop and Redis keep a core).
    let batch: TrainBatch | undefined;
    let triples = 40_000;
    for (; triples <= 640_000; triples *= 2) {
      const g = randomGraph(20_000, 8, triples, 3);
      backend?.dispose();
      backend = nativeBackendFactory.create(makeInit(g, 'transr', baseConfig({ negatives: 64, threads: 1 }), 64, 64));
      batch = { heads: g.heads, relations: g.relations, tails: g.tails, epoch: 0, offset: 0, step: 1 };
      const t0 = Date.now();
      await backend.trainBatch(batch);
      if (Date.now() - t0 >= LONG_MS * 1.25) break;
    }
    const out = await runAsQueueJob(() => backend!.trainBatch({ ...batch!, step: 2 }), LOCK_MS);
    console.log(`kge-queue-lock: native trainBatch of ${Math.min(triples, 640_000)} TransR triples took ${out.workMs} ms under a ${LOCK_MS} ms lock: ${out.state}`);
    expect(out.workMs).toBeGreaterThanOrEqual(LONG_MS);
    expect({ state: out.state, stalled: out.stalled, errors: out.errors, failedReason: out.failedReason }).toEqual({
      state: 'completed', stalled: [], errors: [], failedReason: undefined,
    });
    expect(Number.isFinite(out.result)).toBe(true);
    expect(out.result).toBeGreaterThan(0);
  } finally {
    backend?.dispose();
  }
}, 120_000);
