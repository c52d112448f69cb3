/**
 * The cuda backend's device battery against the js reference: identical negatives, loss trajectories and tables within
 * tolerance for trainBatch and for trainRun in both placements (resident and hybrid), gradients and scoreAll, every GEMM
 * build and the Gram form, keepOnDevice, and the event loop. Registered inside a describe by kge-cuda-backend.test.ts
 * (the real addon, where a GPU exists) and by kge-cuda-emulated.test.ts (the same engine built against the host
 * emulation of CUDA, everywhere g++ is).
 */
import { TRAJECTORY_TOLERANCE, type BackendInit, type TrainConfig } from '../src/kge/backends/backend';
import { jsBackendFactory } from '../src/kge/backends/js';
import { CudaBackend, cudaBackendFactory, cudaDeviceInfo, loadCudaAddon } from '../src/kge/backends/cuda';
import { engineConfig, engineTables } from '../src/kge/backends/engine-backend';
import { engineGlueCases, type GlueSubject } from './kge-engine-glue';
import { eventLoopDuringTrainRun, gramHardPairs, keepOnDeviceRuns, mappedStagingRuns, oddShapeScoreAll, tileScoreAllMismatches } from './kge-cuda-fixtures';
import { CASES, baseConfig, batches, cloneInit, gradientRelDiff, gradientsAndScoresVsJs, makeInit, maxRelDiff, maxTableNormDiff, randomGraph, trajectory } from './kge-backend-fixtures';

function expectTablesClose(a: BackendInit, b: BackendInit): void {
  expect(maxTableNormDiff(a, b)).toBeLessThan(1e-2);
}

/** emulated: the addon is the host emulation's (a smaller event-loop probe; everything else as on the GPU). */
export function cudaBattery(opts: { emulated: boolean }): void {
  const g = randomGraph(60, 4, 300, 1);

  test.each(CASES)('%s %j: trainBatch — same negatives, loss trajectory and tables as js', async (model, over) => {
    const init = makeInit(g, model, baseConfig(over));
    const jsInit = cloneInit(init), cInit = cloneInit(init);
    const js = jsBackendFactory.create(jsInit);
    const cu = cudaBackendFactory.create(cInit);
    const bs = batches(g, 64, 3);
    const a = await js.sampleNegatives(bs[1]);
    const b = await cu.sampleNegatives(bs[1]);
    expect(Array.from(b.entities)).toEqual(Array.from(a.entities));
    expect(Array.from(b.corruptHead)).toEqual(Array.from(a.corruptHead));
    const lj = await trajectory(js, bs);
    const lc = await trajectory(cu, bs);
    expect(lj[0]).toBeGreaterThan(0);
    expect(maxRelDiff(lj, lc)).toBeLessThan(TRAJECTORY_TOLERANCE);
    expect(lj[lj.length - 1]).not.toBeCloseTo(lj[0], 3);
    expectTablesClose(jsInit, cInit);
    cu.dispose();
  });

  test.each(CASES)('%s %j: trainRun, resident and hybrid, equals js batch by batch', async (model, over) => {
    const init = makeInit(g, model, baseConfig(over));
    const jsInit = cloneInit(init);
    const js = jsBackendFactory.create(jsInit);
    const bs = batches(g, 64, 2);
    const lj = await trajectory(js, bs);
    for (const placement of ['resident', 'hybrid'] as const) {
      const cInit = cloneInit(init);
      const cu = new CudaBackend(cInit, { placement, hotRows: placement === 'hybrid' ? 9 : undefined });
      const lc: number[] = [];
      for (let epoch = 0; epoch < 2; epoch++) {
        const r = await cu.trainRun({ heads: g.heads, relations: g.relations, tails: g.tails, epoch, offset: 0, batchSize: 64, firstStep: 1 + epoch * 5 });
        expect(r.placement).toBe(placement);
        if (placement === 'hybrid') expect(r.hotRows).toBe(9);
        expect(r.staging).toBe(placement === 'hybrid' ? 'copy' : 'none');
        lc.push(...r.losses);
      }
      expect(lc.length).toBe(lj.length);
      expect(maxRelDiff(lj, lc)).toBeLessThan(TRAJECTORY_TOLERANCE);
      expectTablesClose(jsInit, cInit);
      cu.dispose();
    }
  });

  test.each(CASES)('%s %j: gradients and scoreAll equal js', async (model, over) => {
    const init = makeInit(g, model, baseConfig(over));
    const cu = cudaBackendFactory.create(init);
    const d = await gradientsAndScoresVsJs(g, init, jsBackendFactory.create(init), cu);
    expect(d.lossRel).toBeLessThan(1e-5);
    expect(d.gradRel).toBeLessThanOrEqual(1e-4);
    for (const s of d.scoreRel) expect(s).toBeLessThan(1e-4);
    cu.dispose();
  });

  // The battery above runs the default tiles (3xTF32 on tensor cores, two blocks per SM); the other ways of running
  // the projected models' GEMMs at FP32-level rounding must hold it too.
  const projected = CASES.filter(([model]) => model !== 'transe');
  // chunk: the 16-byte tile (d = 16, k = 12 here: one K-step, zero-filled past 16; ∂M's K is the rows, several steps).
  // gram: the Gram form (independent negatives with L2; the other cases run direct under it, and must stay so).
  // wgmma: the warpgroup tile (sm_90a; built for one block per SM whatever gemmBlocks says); stationary: the same with
  // M_r kept in shared memory across a persistent block's tiles of P and ∂x (gram: its z = G_r x GEMM too).
  const gemmVariants: { gemm: 'simt' | 'tf32x3'; gemmBlocks: 1 | 2; gemmTile?: 'chunk' | 'wgmma' | 'stationary'; projectedDistance?: 'gram' }[] = [
    { gemm: 'tf32x3', gemmBlocks: 1 },
    { gemm: 'simt', gemmBlocks: 1 },
    { gemm: 'simt', gemmBlocks: 2 },
    { gemm: 'tf32x3', gemmBlocks: 2, gemmTile: 'chunk' },
    { gemm: 'tf32x3', gemmBlocks: 1, gemmTile: 'chunk' },
    { gemm: 'tf32x3', gemmBlocks: 2, projectedDistance: 'gram' },
    { gemm: 'tf32x3', gemmBlocks: 2, gemmTile: 'chunk', projectedDistance: 'gram' },
    { gemm: 'simt', gemmBlocks: 1, projectedDistance: 'gram' },
    // The warpgroup tile only where its machine code runs (compute capability 9.0; the host emulation says 9.0).
    ...(cudaDeviceInfo()?.computeCapability === '9.0'
      ? [
          { gemm: 'tf32x3', gemmBlocks: 1, gemmTile: 'wgmma' },
          { gemm: 'tf32x3', gemmBlocks: 1, gemmTile: 'wgmma', projectedDistance: 'gram' },
          { gemm: 'tf32x3', gemmBlocks: 1, gemmTile: 'stationary' },
          { gemm: 'tf32x3', gemmBlocks: 1, gemmTile: 'stationary', projectedDistance: 'gram' },
        ] as const
      : []),
  ];
  const projectedVariants = projected.flatMap(([model, over]) => gemmVariants.map((v) => [model, over, v] as const));
  test.each(projectedVariants)('%s %j %j — trainRun and gradients equal js', async (model, over, variant) => {
    {
      const init = makeInit(g, model, baseConfig(over));
      const jsInit = cloneInit(init), cInit = cloneInit(init);
      const lj = await trajectory(jsBackendFactory.create(jsInit), batches(g, 64, 2));
      const cu = new CudaBackend(cInit, { placement: 'resident', ...variant });
      const lc: number[] = [];
      for (let epoch = 0; epoch < 2; epoch++) {
        const r = await cu.trainRun({ heads: g.heads, relations: g.relations, tails: g.tails, epoch, offset: 0, batchSize: 64, firstStep: 1 + epoch * 5 });
        // What ran is what was asked for (d = 16, k = 12: every tile applies; simt runs the element tile).
        expect(r.gemmTile).toBe(variant.gemm === 'simt' ? 'element' : variant.gemmTile ?? 'element');
        lc.push(...r.losses);
      }
      expect(lc.length).toBe(lj.length);
      expect(maxRelDiff(lj, lc)).toBeLessThan(TRAJECTORY_TOLERANCE);
      expectTablesClose(jsInit, cInit);
      cu.dispose();
      const batch = batches(g, 64, 1)[2];
      const gj = await jsBackendFactory.create(init).gradients(batch);
      const cg = new CudaBackend(init, variant);
      const gc = await cg.gradients(batch);
      cg.dispose();
      expect(gradientRelDiff(gj.gradients, gc.gradients)).toBeLessThanOrEqual(1e-4);
    }
  });

  // The "selected automatically when the table does not fit": with a memory budget one byte short of what the
  // run needs resident (its own residentBytes), placement auto goes hybrid with a device cache of hot rows, and trains
  // as js does; a budget below one batch is refused by name.
  test.each(['transe', 'transr'] as const)('%s: placement auto goes hybrid when the tables exceed the memory budget, equal to js; a budget below one batch is a clear error', async (model) => {
    const wide = randomGraph(3000, 4, 600, 2);  // many entities, few positives: a batch touches few of the rows
    const init = makeInit(wide, model, baseConfig({}));
    const jsInit = cloneInit(init);
    const lj = await trajectory(jsBackendFactory.create(jsInit), batches(wide, 64, 1));
    const run = async (memoryBudget?: number) => {
      const cInit = cloneInit(init);
      const cu = new CudaBackend(cInit, { memoryBudget });
      try {
        const r = await cu.trainRun({ heads: wide.heads, relations: wide.relations, tails: wide.tails, epoch: 0, offset: 0, batchSize: 64, firstStep: 1 });
        return { r, cInit };
      } finally {
        cu.dispose();
      }
    };
    const roomy = await run();
    expect(roomy.r.placement).toBe('resident');
    expect(roomy.r.residentBytes).toBeGreaterThan(0);
    const tight = await run(roomy.r.residentBytes - 1);
    expect(tight.r.placement).toBe('hybrid');
    expect(tight.r.hotRows).toBeGreaterThan(0);
    expect(tight.r.hotRows).toBeLessThan(wide.N);
    for (const x of [roomy, tight]) {
      expect(maxRelDiff(lj, x.r.losses)).toBeLessThan(TRAJECTORY_TOLERANCE);
      expectTablesClose(jsInit, x.cInit);
    }
    await expect(run(4096)).rejects.toThrow('cuda backend: one batch of 64 positives does not fit in the device memory budget; use a smaller batch');
  });

  // Mapped staging (options.staging; kge-cuda-fixtures.ts mappedStagingRuns): the same results as js and as staging
  // copy, bit for bit on the host emulation (deterministic; a GPU's atomics are not); small tables stay copied.
  test.each([
    ['transe', { entityOptimizer: 'adam' }, 'mapped'],
    ['transr', {}, 'mapped'],
    ['transra', { sampling: 'shared' }, 'mixed'],
  ] as const)('%s %j: staging mapped — hybrid trainRun (%s) and trainBatch equal js and staging copy', async (model, over, kind) => {
    const p = await mappedStagingRuns(model, over);
    expect(p.kinds).toEqual({ mapped: kind, copy: 'copy', small: 'copy' });
    expect(p.lossDiff).toBeLessThan(TRAJECTORY_TOLERANCE);
    expect(p.tableDiff).toBeLessThan(1e-2);
    if (opts.emulated) expect(p.identical).toBe(true);
  }, 120_000);

  test.each(CASES)('%s %j: keepOnDevice — the next run skips the copy in, scoreAll reads the kept tables, a staged step drops them; all equal js', async (model, over) => {
    const p = await keepOnDeviceRuns(model, over);
    expect(p.reused).toEqual([false, model !== 'transra', false, false]);
    expect(p.lossDiff).toBeLessThan(TRAJECTORY_TOLERANCE);
    expect(p.tableDiff).toBeLessThan(1e-2);
    expect(p.scoreDiff).toBeLessThan(1e-4);
  });

  test.each(['transr', 'transra'] as const)('%s: scoreAll with queries × entities not a multiple of 4 equals js (the projected block stays 16-byte aligned)', async (model) => {
    expect(await oddShapeScoreAll(model)).toBeLessThan(1e-4);
  });

  test.each(['transr', 'transra'] as const)('%s: scoreAll through the 16-byte tile is bitwise the element tile\'s', async (model) => {
    expect(await tileScoreAllMismatches(model)).toBe(0);
  });

  test.each([
    ['transr', {}, 'near-pairs'],
    ['transra', {}, 'near-pairs'],
    ['transr', { adversarialTemperature: 1, loss: 'margin', margin: 1 }, 'near-pairs'],
    ['transr', {}, 'fitted'],
    ['transra', {}, 'fitted'],
    ['transr', { adversarialTemperature: 1, loss: 'margin', margin: 1 }, 'fitted'],
  ] as const)('%s %j: the Gram form where its values cancel (%s) equals js', async (model, over, kind) => {
    const p = await gramHardPairs(model, over, kind);
    expect(p.form).toBe('gram');
    expect(p.lossRel).toBeLessThan(1e-5);
    expect(p.gradRel).toBeLessThanOrEqual(1e-4);
  });

  test('the Gram form runs only where it applies (independent negatives, L2); elsewhere trainRun says direct', async () => {
    const form = async (over: Partial<TrainConfig>, dim = 16) => {
      const cu = new CudaBackend(makeInit(g, 'transr', baseConfig(over), dim, 12), { placement: 'resident', projectedDistance: 'gram' });
      try {
        return (await cu.trainRun({ heads: g.heads.subarray(0, 64), relations: g.relations.subarray(0, 64), tails: g.tails.subarray(0, 64), epoch: 0, offset: 0, batchSize: 64, firstStep: 1 })).projectedDistance;
      } finally {
        cu.dispose();
      }
    };
    expect(await form({})).toBe('gram');
    expect(await form({ sampling: 'shared' })).toBe('direct');
    expect(await form({ norm: 'l1' })).toBe('direct');
    expect(await form({}, 18)).toBe('direct');
  });

  // The shared-negatives loss kernel's 16-byte variant, through the engine (its kernel alone: cuda-emulation, bitwise).
  // (The L2 shared cases: with L1 that kernel does not run, and trainRun says so.)
  test.each(CASES.filter(([, over]) => over.sampling === 'shared' && over.norm !== 'l1'))('%s %j sharedLoss vector — trainRun and gradients equal js', async (model, over) => {
    const init = makeInit(g, model, baseConfig(over));
    const jsInit = cloneInit(init), cInit = cloneInit(init);
    const lj = await trajectory(jsBackendFactory.create(jsInit), batches(g, 64, 2));
    const cu = new CudaBackend(cInit, { placement: 'resident', sharedLoss: 'vector' });
    const lc: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      const r = await cu.trainRun({ heads: g.heads, relations: g.relations, tails: g.tails, epoch, offset: 0, batchSize: 64, firstStep: 1 + epoch * 5 });
      expect(r.sharedLoss).toBe('vector');
      lc.push(...r.losses);
    }
    cu.dispose();
    expect(maxRelDiff(lj, lc)).toBeLessThan(TRAJECTORY_TOLERANCE);
    expectTablesClose(jsInit, cInit);
    const batch = batches(g, 64, 1)[2];
    const gj = await jsBackendFactory.create(init).gradients(batch);
    const cg = new CudaBackend(init, { sharedLoss: 'vector' });
    const gc = await cg.gradients(batch);
    cg.dispose();
    expect(gradientRelDiff(gj.gradients, gc.gradients)).toBeLessThanOrEqual(1e-4);
  });

  test('trainRun says which shared-negatives loss ran: element by default, vector when asked, none with L1 or independent negatives', async () => {
    const ran = async (over: Partial<TrainConfig>, sharedLoss?: 'vector') => {
      const cu = new CudaBackend(makeInit(g, 'transr', baseConfig(over)), { placement: 'resident', sharedLoss });
      try {
        return (await cu.trainRun({ heads: g.heads.subarray(0, 64), relations: g.relations.subarray(0, 64), tails: g.tails.subarray(0, 64), epoch: 0, offset: 0, batchSize: 64, firstStep: 1 })).sharedLoss;
      } finally {
        cu.dispose();
      }
    };
    expect(await ran({ sampling: 'shared' })).toBe('element');
    expect(await ran({ sampling: 'shared' }, 'vector')).toBe('vector');
    expect(await ran({ sampling: 'shared', norm: 'l1' }, 'vector')).toBe('none');
    expect(await ran({}, 'vector')).toBe('none');
  });

  test('options.sharedLoss other than element or vector is a RangeError naming it', () => {
    const init = makeInit(g, 'transe', baseConfig({ sampling: 'shared' }));
    expect(() => new CudaBackend(init, { sharedLoss: 'wide' as never })).toThrow('options.sharedLoss must be element or vector, got wide');
  });

  test('options.staging other than copy or mapped is a RangeError naming it', () => {
    const init = makeInit(g, 'transe', baseConfig({}));
    expect(() => new CudaBackend(init, { staging: 'dma' as never })).toThrow('options.staging must be copy or mapped, got dma');
  });

  test('options.projectedDistance other than direct or gram is a RangeError naming it', () => {
    const init = makeInit(g, 'transr', baseConfig({}));
    expect(() => new CudaBackend(init, { projectedDistance: 'exact' as never })).toThrow('options.projectedDistance must be direct or gram, got exact');
  });

  test('options.gemm other than simt, tf32x3 or tf32 is a RangeError naming it', () => {
    const init = makeInit(g, 'transr', baseConfig({}));
    expect(() => new CudaBackend(init, { gemm: 'fp16' as never })).toThrow('options.gemm must be simt, tf32x3 or tf32, got fp16');
  });

  test('options.gemmTile other than element, chunk, wgmma or stationary is a RangeError naming it', () => {
    const init = makeInit(g, 'transr', baseConfig({}));
    expect(() => new CudaBackend(init, { gemmTile: 'wide' as never })).toThrow('options.gemmTile must be element, chunk, wgmma or stationary, got wide');
  });

  test('options.placement, memoryBudget and hotRows out of their ranges are refused by name', () => {
    const init = makeInit(g, 'transr', baseConfig({}));
    expect(() => new CudaBackend(init, { placement: 'device' as never })).toThrow('options.placement must be auto, resident or hybrid, got device');
    expect(() => new CudaBackend(init, { memoryBudget: -1 })).toThrow('options.memoryBudget must be a number of bytes > 0');
    expect(() => new CudaBackend(init, { memoryBudget: NaN })).toThrow('options.memoryBudget must be a finite number');
    expect(() => new CudaBackend(init, { hotRows: 2.5 })).toThrow('options.hotRows must be a whole number of rows ≥ 0');
    expect(() => new CudaBackend(init, { hotRows: '10' as never })).toThrow('options.hotRows must be a finite number');
  });

  test('options.gemmBlocks other than 1 or 2 is a RangeError naming it', () => {
    const init = makeInit(g, 'transr', baseConfig({}));
    expect(() => new CudaBackend(init, { gemmBlocks: 4 as never })).toThrow('options.gemmBlocks must be 1 or 2, got 4');
  });

  describe('the engine object: arguments checked by name (native/src/engine_napi.h)', () => {
    engineGlueCases(() => ({
      Engine: loadCudaAddon().CudaEngine as unknown as GlueSubject['Engine'],
      extraArgs: [{}], extraConfig: {}, label: 'cuda backend',
      usage: 'CudaEngine(config, tables, optimizer, sampling, options) expects five objects',
    }));

    test('trainRun refuses a batch size that is not a positive integer, and a non-number step, by name', async () => {
      const init = makeInit(g, 'transr', baseConfig({}));
      const engine = new (loadCudaAddon().CudaEngine)(engineConfig(init), engineTables(init), init.optimizer, init.sampling, {});
      const run = (batchSize: number, firstStep: unknown) =>
        engine.trainRun(g.heads.subarray(0, 64), g.relations.subarray(0, 64), g.tails.subarray(0, 64), 0, 0, batchSize, firstStep as number, new Float64Array(4), false);
      try {
        expect(() => run(0, 1)).toThrow('trainRun: batchSize must be a positive integer');
        expect(() => run(16.5, 1)).toThrow('trainRun: batchSize must be a positive integer');
        expect(() => run(16, '1')).toThrow('trainRun: firstStep must be a finite number');
        expect(() => run(8, 1)).toThrow('losses has 4 elements, needs 8');
        const losses = new Float64Array(4);
        await engine.trainRun(g.heads.subarray(0, 64), g.relations.subarray(0, 64), g.tails.subarray(0, 64), 0, 0, 16, 1, losses, false);
        expect(Array.from(losses).every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      } finally {
        engine.dispose();
      }
    });
  });

  test('the event loop keeps ticking while a long cuda call runs', async () => {
    const probe = await eventLoopDuringTrainRun(opts.emulated);
    expect(probe.finite).toBe(true);
    expect(probe.kept).toBe(true);
  });
}
