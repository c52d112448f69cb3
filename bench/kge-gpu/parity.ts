/**
 * The device half of test/kge-cuda-backend.test.ts for the GPU machine, which has no jest: every case of
 * the battery against the js reference (identical negatives; trainBatch and trainRun resident/hybrid
 * trajectories and tables within tolerance; gradients; scoreAll). Prints one line per check and
 * "N passed, M failed"; exits 1 on a failure.   node .device/app/bench/kge-gpu/parity.js [--models transr,transra]
 * (--models: only those models' cases; ADKG_CUDA_GEMM picks the projection GEMMs' math, see cuda/src/kernels.h;
 * ADKG_CUDA_PROJECTED_DISTANCE=gram runs the battery in the Gram form where it applies). --smoke: only TransR at the
 * bench's shape (d = k = 128, 64 negatives, shared and independent) through trainRun, a few seconds: whether an addon
 * built elsewhere loads its kernels here and trains as js does (bench/kge-gpu/addon-lib.sh).
 */
import { TRAJECTORY_TOLERANCE, type ModelName, type TrainConfig } from '../../src/kge/backends/backend';
import { jsBackendFactory } from '../../src/kge/backends/js';
import { CudaBackend, cudaUnavailableReason } from '../../src/kge/backends/cuda';
import { eventLoopDuringTrainRun, gramHardPairs, keepOnDeviceRuns, mappedStagingRuns, oddShapeScoreAll, tileScoreAllMismatches } from '../../test/kge-cuda-fixtures';
import { CASES, baseConfig, batches, cloneInit, gradientRelDiff, makeInit, maxRelDiff, maxTableNormDiff, randomGraph, trajectory } from '../../test/kge-backend-fixtures';

const SHAPE_CASES: Array<[ModelName, Partial<TrainConfig>, number, number]> = [
  ['transr', { negatives: 64, sampling: 'shared', chunkSize: 32 }, 128, 128],
  ['transr', { negatives: 64 }, 128, 128],
  ['transe', { negatives: 40, sampling: 'shared', chunkSize: 32, loss: 'margin', margin: 2 }, 128, 128],
  ['transr', { negatives: 5, sampling: 'shared' }, 18, 10],
  ['transr', { negatives: 5 }, 18, 10],
  ['transra', { negatives: 64, sampling: 'shared', chunkSize: 32 }, 132, 68],
  // The independent L2 loss (direct and Gram form) with adversarial weights at full width, and with k > d.
  ['transr', { negatives: 64, adversarialTemperature: 1 }, 128, 128],
  ['transr', { negatives: 16 }, 64, 96],
];

const only = process.argv.includes('--models') ? process.argv[process.argv.indexOf('--models') + 1].split(',') : null;
const wanted = (model: ModelName): boolean => only === null || only.includes(model);
const smoke = process.argv.includes('--smoke');

let passed = 0, failed = 0;
function check(name: string, ok: boolean, detail: string): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
}

async function main(): Promise<void> {
  const why = cudaUnavailableReason();
  if (why) throw new Error(why);
  const g = randomGraph(60, 4, 300, 1);
  console.log(`gemm ${process.env.ADKG_CUDA_GEMM || 'tf32x3 (default)'}, ${process.env.ADKG_CUDA_GEMM_BLOCKS || '2 (default)'} block(s)/SM, ${process.env.ADKG_CUDA_GEMM_TILE || 'element (default)'} tile, ${process.env.ADKG_CUDA_PROJECTED_DISTANCE || 'direct (default)'} form, ${process.env.ADKG_CUDA_SHARED_LOSS || 'element (default)'} shared loss${only ? `, models ${only.join(',')}` : ''}`);
  for (const [model, over] of smoke ? [] : CASES) {
    if (!wanted(model)) continue;
    const label = `${model} ${JSON.stringify(over)}`;
    try {
      const init = makeInit(g, model, baseConfig(over));
      const jsInit = cloneInit(init), cInit = cloneInit(init);
      const js = jsBackendFactory.create(jsInit);
      const cu = new CudaBackend(cInit, { placement: 'auto' });
      const bs = batches(g, 64, 3);
      const a = await js.sampleNegatives(bs[1]);
      const b = await cu.sampleNegatives(bs[1]);
      const same = a.entities.every((x, i) => x === b.entities[i]) && a.corruptHead.every((x, i) => x === b.corruptHead[i]);
      check(`${label} negatives`, same, same ? 'identical' : 'differ');
      const lj = await trajectory(js, bs);
      const lc = await trajectory(cu, bs);
      const d = maxRelDiff(lj, lc), td = maxTableNormDiff(jsInit, cInit);
      check(`${label} trainBatch`, d < TRAJECTORY_TOLERANCE && td < 1e-2, `loss rel diff ${d.toExponential(2)}, tables ${td.toExponential(2)}`);
      cu.dispose();
      for (const placement of ['resident', 'hybrid'] as const) {
        const rInit = cloneInit(init), jInit = cloneInit(init);
        const jr = jsBackendFactory.create(jInit);
        const lj2 = await trajectory(jr, batches(g, 64, 2));
        const cr = new CudaBackend(rInit, { placement, hotRows: placement === 'hybrid' ? 9 : undefined });
        const lc2: number[] = [];
        for (let epoch = 0; epoch < 2; epoch++) {
          const r = await cr.trainRun({ heads: g.heads, relations: g.relations, tails: g.tails, epoch, offset: 0, batchSize: 64, firstStep: 1 + epoch * 5 });
          lc2.push(...r.losses);
        }
        const d2 = maxRelDiff(lj2, lc2), td2 = maxTableNormDiff(jInit, rInit);
        check(`${label} trainRun ${placement}`, lc2.length === lj2.length && d2 < TRAJECTORY_TOLERANCE && td2 < 1e-2, `loss rel diff ${d2.toExponential(2)}, tables ${td2.toExponential(2)}`);
        cr.dispose();
      }
      const gInit = cloneInit(init);
      const gj = await jsBackendFactory.create(gInit).gradients(bs[2]);
      const cg = new CudaBackend(gInit);
      const gc = await cg.gradients(bs[2]);
      const worst = Math.max(Math.abs(gj.loss - gc.loss) / gj.loss, gradientRelDiff(gj.gradients, gc.gradients) / 10);
      check(`${label} gradients`, worst < 1e-5, `worst ${worst.toExponential(2)} (loss rel, gradient rel/10)`);
      let sd = 0;
      for (const side of ['head', 'tail'] as const) {
        const q = { side, known: g.heads.slice(0, 37), relations: g.relations.slice(0, 37) };
        const oj = new Float32Array(37 * g.N), oc = new Float32Array(37 * g.N);
        await jsBackendFactory.create(gInit).scoreAll(q, oj);
        await cg.scoreAll(q, oc);
        sd = Math.max(sd, maxRelDiff(oj, oc));
      }
      check(`${label} scoreAll`, sd < 1e-4, `rel diff ${sd.toExponential(2)}`);
      cg.dispose();
      const kp = await keepOnDeviceRuns(model, over);
      const wantReused = [false, model !== 'transra', false, false];
      check(`${label} keepOnDevice`, kp.reused.every((x, i) => x === wantReused[i]) && kp.lossDiff < TRAJECTORY_TOLERANCE && kp.tableDiff < 1e-2 && kp.scoreDiff < 1e-4,
        `reused ${JSON.stringify(kp.reused)} (want ${JSON.stringify(wantReused)}), loss ${kp.lossDiff.toExponential(2)}, tables ${kp.tableDiff.toExponential(2)}, scores ${kp.scoreDiff.toExponential(2)}`);
    } catch (e) {
      check(label, false, (e as Error).message);
    }
  }
  // Shapes beyond the battery's (d 16, k 12, 8 negatives): the benchmark's (d = k = 128, 64 negatives: whole
  // 128-wide tiles, two 32-lane passes per row) and dimensions that are not multiples of 4 (scalar paths).
  for (const [model, over, dim, relDim] of smoke ? SHAPE_CASES.slice(0, 2) : SHAPE_CASES) {
    if (!wanted(model)) continue;
    const label = `${model} ${JSON.stringify(over)} d=${dim} k=${relDim}`;
    try {
      const init = makeInit(g, model, baseConfig(over), dim, relDim);
      const jInit = cloneInit(init), cInit = cloneInit(init);
      const lj = await trajectory(jsBackendFactory.create(jInit), batches(g, 64, 2));
      const cu = new CudaBackend(cInit, { placement: 'resident' });
      const lc: number[] = [];
      for (let epoch = 0; epoch < 2; epoch++) lc.push(...(await cu.trainRun({ heads: g.heads, relations: g.relations, tails: g.tails, epoch, offset: 0, batchSize: 64, firstStep: 1 + epoch * 5 })).losses);
      cu.dispose();
      const d = maxRelDiff(lj, lc), td = maxTableNormDiff(jInit, cInit);
      check(`${label} trainRun`, lc.length === lj.length && d < TRAJECTORY_TOLERANCE && td < 1e-2, `loss rel diff ${d.toExponential(2)}, tables ${td.toExponential(2)}`);
    } catch (e) {
      check(label, false, (e as Error).message);
    }
  }
  if (smoke) return summary();
  // scoreAll where queries × entities is not a multiple of 4 (what made `adkg train --model transr` fail in run 7).
  for (const model of ['transr', 'transra'] as const) {
    if (!wanted(model)) continue;
    try {
      const sd = await oddShapeScoreAll(model);
      check(`${model} scoreAll, 37 queries × 61 entities`, sd < 1e-4, `rel diff ${sd.toExponential(2)}`);
    } catch (e) {
      check(`${model} scoreAll, 37 queries × 61 entities`, false, (e as Error).message);
    }
    try {
      const n = await tileScoreAllMismatches(model);
      check(`${model} scoreAll, chunk tile vs element tile`, n === 0, n === 0 ? 'bitwise equal' : `${n} scores differ`);
    } catch (e) {
      check(`${model} scoreAll, chunk tile vs element tile`, false, (e as Error).message);
    }
  }
  // The Gram form where its values cancel (test/kge-cuda-fixtures.ts gramHardPairs), in the run that checks the Gram form.
  const gramCases = [['transr', {}], ['transra', {}], ['transr', { adversarialTemperature: 1, loss: 'margin', margin: 1 }]] as const;
  for (const kind of process.env.ADKG_CUDA_PROJECTED_DISTANCE === 'gram' ? (['near-pairs', 'fitted'] as const) : []) for (const [model, over] of gramCases) {
    if (!wanted(model)) continue;
    const label = `${model} ${JSON.stringify(over)} gram form, cancelling pairs (${kind})`;
    try {
      const p = await gramHardPairs(model, over, kind);
      check(label, p.form === 'gram' && p.lossRel < 1e-5 && p.gradRel <= 1e-4, `form ${p.form}, loss rel ${p.lossRel.toExponential(2)}, gradient rel ${p.gradRel.toExponential(2)}`);
    } catch (e) {
      check(label, false, (e as Error).message);
    }
  }
  // Mapped staging (options.staging, opt-in): the device moves hybrid batches' rows through the page-locked tables.
  for (const [model, over, kind] of smoke ? [] : ([['transe', { entityOptimizer: 'adam' }, 'mapped'], ['transr', {}, 'mapped'], ['transra', { sampling: 'shared' }, 'mixed']] as const)) {
    if (!wanted(model)) continue;
    const label = `${model} ${JSON.stringify(over)} staging mapped`;
    try {
      const p = await mappedStagingRuns(model, over);
      const want = { mapped: kind, copy: 'copy', small: 'copy' };
      check(label, JSON.stringify(p.kinds) === JSON.stringify(want) && p.lossDiff < TRAJECTORY_TOLERANCE && p.tableDiff < 1e-2,
        `staging ${JSON.stringify(p.kinds)} (want ${JSON.stringify(want)}), loss ${p.lossDiff.toExponential(2)}, tables ${p.tableDiff.toExponential(2)}, mapped and copy ${p.identical ? 'identical' : 'not bitwise equal'}`);
    } catch (e) {
      check(label, false, (e as Error).message);
    }
  }
  // The device half of the jest battery's event-loop test: a long trainRun must not block Node (a BullMQ
  // worker renews its lock meanwhile).
  try {
    const p = await eventLoopDuringTrainRun();
    check('event loop during a long trainRun', p.finite && p.kept, `${p.ticks} ticks of 5 ms in ${p.ms} ms`);
  } catch (e) {
    check('event loop during a long trainRun', false, (e as Error).message);
  }
  summary();
}

function summary(): void {
  console.log(`${passed} passed, ${failed} failed`);
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.log(`FAIL parity: ${(e as Error).message}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exitCode = 1;
});
