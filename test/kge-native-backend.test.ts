/**
 * The native backend against the js reference on small random graphs: identical negatives, the same
 * loss trajectory and final tables within tolerance, the same gradients and scores; more threads give
 * the same loss within tolerance; the event loop keeps running during a long native call.
 */
import { TRAJECTORY_TOLERANCE, type TrainBatch } from '../src/kge/backends/backend';
import { jsBackendFactory } from '../src/kge/backends/js';
import { nativeBackendFactory } from '../src/kge/backends/native';
import { loadAddon } from '../src/kge/backends/native/addon';
import { CASES, baseConfig, batches, cloneInit, gradientsAndScoresVsJs, makeInit, maxRelDiff, maxTableNormDiff, randomGraph, trajectory } from './kge-backend-fixtures';
import { engineGlueCases, type GlueSubject } from './kge-engine-glue';

const available = nativeBackendFactory.available();
const describeNative = available.ok ? describe : describe.skip;
if (!available.ok) console.warn(`kge-native tests skipped: ${available.reason}`);

// 40 and 36: whole SIMD tiles (8 and 16 lanes) plus a remainder, so every kernel path runs.
const DIM = 40;
const REL_DIM = 36;

describeNative('native backend vs js reference', () => {
  const g = randomGraph(60, 4, 300, 1);

  test.each(CASES)('%s %j: same negatives, loss trajectory and tables as js', async (model, over) => {
    const init = makeInit(g, model, baseConfig(over), DIM, REL_DIM);
    const jsInit = cloneInit(init), nInit = cloneInit(init);
    const js = jsBackendFactory.create(jsInit);
    const nat = nativeBackendFactory.create(nInit);
    const bs = batches(g, 64, 3);
    const a = await js.sampleNegatives(bs[1]);
    const b = await nat.sampleNegatives(bs[1]);
    expect(Array.from(b.entities)).toEqual(Array.from(a.entities));
    expect(Array.from(b.corruptHead)).toEqual(Array.from(a.corruptHead));

    const lj = await trajectory(js, bs);
    const ln = await trajectory(nat, bs);
    expect(lj[0]).toBeGreaterThan(0);
    expect(maxRelDiff(lj, ln)).toBeLessThan(TRAJECTORY_TOLERANCE);
    expect(lj[lj.length - 1]).not.toBeCloseTo(lj[0], 3); // it trained
    expect(maxTableNormDiff(jsInit, nInit)).toBeLessThan(1e-2);
    nat.dispose();
  });

  test.each(CASES)('%s %j: gradients and scoreAll equal js', async (model, over) => {
    const init = makeInit(g, model, baseConfig(over), DIM, REL_DIM);
    const nat = nativeBackendFactory.create(init);
    const d = await gradientsAndScoresVsJs(g, init, jsBackendFactory.create(init), nat);
    expect(d.lossRel).toBeLessThan(1e-5);
    expect(d.gradRel).toBeLessThanOrEqual(1e-4);
    for (const s of d.scoreRel) expect(s).toBeLessThan(1e-4);
    nat.dispose();
  });

  test('threads=2 gives the loss of threads=1 within tolerance (transr, shared and independent)', async () => {
    for (const sampling of ['independent', 'shared'] as const) {
      const init = makeInit(g, 'transr', baseConfig({ sampling, threads: 1 }), DIM, REL_DIM);
      const one = nativeBackendFactory.create(cloneInit(init, { ...init.config, threads: 1 }));
      const two = nativeBackendFactory.create(cloneInit(init, { ...init.config, threads: 2 }));
      const bs = batches(g, 64, 3);
      const l1 = await trajectory(one, bs);
      const l2 = await trajectory(two, bs);
      expect(maxRelDiff(l1, l2)).toBeLessThan(TRAJECTORY_TOLERANCE);
      one.dispose();
      two.dispose();
    }
  });

  test('the event loop keeps ticking while a long native call runs', async () => {
    const big = randomGraph(20000, 8, 40000, 3);
    const init = makeInit(big, 'transr', baseConfig({ negatives: 64, threads: 2 }), 64, 64);
    const nat = nativeBackendFactory.create(init);
    const batch: TrainBatch = { heads: big.heads, relations: big.relations, tails: big.tails, epoch: 0, offset: 0, step: 1 };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = Date.now();
    const loss = await nat.trainBatch(batch);
    const ms = Date.now() - t0;
    clearInterval(timer);
    expect(Number.isFinite(loss)).toBe(true);
    expect(ms).toBeGreaterThan(100); // long enough for the check to mean something
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(ms / 5 / 4));
    nat.dispose();
  });
});

describeNative('native engine object: arguments checked by name (native/src/engine_napi.h)', () => {
  engineGlueCases(() => ({
    Engine: loadAddon().NativeEngine as unknown as GlueSubject['Engine'],
    extraArgs: [], extraConfig: { threads: 1 }, label: 'native backend',
    usage: 'NativeEngine(config, tables, optimizer, sampling) expects four objects',
  }));
});

describeNative('native backend through the trainer', () => {
  test('trainModel on nations: native follows js epoch by epoch and ends with the same MRR', async () => {
    const { readKgArchive, kgArchiveExists } = await import('./kge-fixtures');
    if (!kgArchiveExists('nations')) {
      console.warn('nations archive missing: trainer check skipped');
      return;
    }
    const { trainModel, evaluateModel } = await import('../src/kge/training');
    const ts = await readKgArchive('nations');
    const data = { entities: ts.entities, relations: ts.relations, train: ts.splits.train!, valid: ts.splits.valid, test: ts.splits.test };
    const config = baseConfig({ negatives: 16, sampling: 'independent', lr: 0.05 });
    const run = async (backend: 'js' | 'native') => {
      const m = await trainModel(data, { model: 'transe', dim: 32, relDim: 32, epochs: 3, batchSize: 128, config, backend, validSample: 0, progress: false });
      const metrics = await evaluateModel(m, data.test!, { progress: false });
      m.backend.dispose();
      return { history: m.history.map((h) => h.loss), mrr: metrics.mrr };
    };
    const js = await run('js');
    const nat = await run('native');
    expect(maxRelDiff(js.history, nat.history)).toBeLessThan(TRAJECTORY_TOLERANCE);
    expect(Math.abs(js.mrr - nat.mrr)).toBeLessThan(0.01);
    expect(nat.history[2]).toBeLessThan(nat.history[0]); // it learned
  });
});
