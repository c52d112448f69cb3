/**
 * The device half of test/kge-cuda-backend.test.ts for the GPU machine, which has no jest: every case of
 * the battery against the js reference (identical negatives; trainBatch and trainRun resident/hybrid
 * trajectories and tables within tolerance; gradients; scoreAll). Prints one line per check and
 * "N passed, M failed"; exits 1 on a failure.   node .device/app/bench/kge-gpu/parity.js
 */
import { TRAJECTORY_TOLERANCE } from '../../src/kge/backends/backend';
import { jsBackendFactory } from '../../src/kge/backends/js';
import { CudaBackend, cudaUnavailableReason } from '../../src/kge/backends/cuda';
import { CASES, TF32_TABLE_TOLERANCE, TF32_TRAJECTORY_TOLERANCE, baseConfig, batches, cloneInit, makeInit, maxRelDiff, maxTableNormDiff, randomGraph, trajectory } from '../../test/kge-backend-fixtures';

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
  for (const [model, over] of CASES) {
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
      if (model !== 'transe') {
        // The tf32 matmul: follows js within TF32 rounding, and differs from the fp32 run (the tensor cores ran).
        const runs: number[][] = [];
        let d3 = 0, td3 = 0;
        for (const matmul of ['fp32', 'tf32'] as const) {
          const tInit = cloneInit(init), jInit = cloneInit(init);
          const lj3 = await trajectory(jsBackendFactory.create(jInit), batches(g, 64, 2));
          const ct = new CudaBackend(tInit, { placement: 'resident', matmul });
          const lc3: number[] = [];
          for (let epoch = 0; epoch < 2; epoch++) lc3.push(...(await ct.trainRun({ heads: g.heads, relations: g.relations, tails: g.tails, epoch, offset: 0, batchSize: 64, firstStep: 1 + epoch * 5 })).losses);
          ct.dispose();
          runs.push(lc3);
          if (matmul === 'tf32') {
            d3 = maxRelDiff(lj3, lc3);
            td3 = maxTableNormDiff(jInit, tInit);
          }
        }
        const apart = maxRelDiff(runs[0], runs[1]);
        check(`${label} trainRun tf32`, d3 < TF32_TRAJECTORY_TOLERANCE && td3 < TF32_TABLE_TOLERANCE && apart > 0, `loss rel diff ${d3.toExponential(2)}, tables ${td3.toExponential(2)}, vs fp32 ${apart.toExponential(2)}`);
      }
      const gInit = cloneInit(init);
      const gj = await jsBackendFactory.create(gInit).gradients(bs[2]);
      const cg = new CudaBackend(gInit);
      const gc = await cg.gradients(bs[2]);
      let worst = Math.abs(gj.loss - gc.loss) / gj.loss;
      for (const [name, arr] of Object.entries(gj.gradients)) {
        const other = gc.gradients[name as keyof typeof gc.gradients]!;
        let scale = 0, diff = 0;
        for (const x of arr!) scale = Math.max(scale, Math.abs(x));
        for (let i = 0; i < arr!.length; i++) diff = Math.max(diff, Math.abs(arr![i] - other[i]));
        worst = Math.max(worst, diff / Math.max(scale, 1e-6) / 10);
      }
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
    } catch (e) {
      check(label, false, (e as Error).message);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.log(`FAIL parity: ${(e as Error).message}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exitCode = 1;
});
