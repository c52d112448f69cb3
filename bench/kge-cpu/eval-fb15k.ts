/**
 * How long filtered link-prediction evaluation of FB15k-237's test split takes on the native backend
 * (20,466 triples × 2 sides × 14,541 entities), for TransE and TransR (d = k = 128, random tables:
 * the time does not depend on the values). Needs ../shared/datasets/kg/FB15k-237.tar.gz.
 *
 *   bash bench/kge-cpu/eval-fb15k.sh
 * Last line: {"transe":{"seconds":S,"scoreSeconds":S},"transr":{...}}
 */
import type { ModelName } from '../../src/kge/backends/backend';
import { nativeBackendFactory } from '../../src/kge/backends/native';
import { evaluateLinkPrediction, FilterIndex } from '../../src/kge/evaluation';
import { allocateTables, createOptimizerState, initializeTables } from '../../src/kge/model';
import { buildSamplingTables } from '../../src/kge/sampling';
import { readKgArchive } from '../../test/kge-fixtures';

async function main(): Promise<void> {
  const ts = await readKgArchive('FB15k-237');
  const N = ts.entities.length, R = ts.relations.length;
  const test = ts.splits.test!;
  const all = [ts.splits.train!, ts.splits.valid!, test];
  const filter = new FilterIndex(all, R);
  const result: Record<string, { seconds: number; mrr: number }> = {};
  for (const model of ['transe', 'transr'] as ModelName[]) {
    const tables = allocateTables({ model, numEntities: N, numRelations: R, dim: 128, relDim: 128 });
    initializeTables(tables, 1, 0.1);
    const config = {
      loss: 'softplus', margin: 6, adversarialTemperature: 0, norm: 'l2', negatives: 1, sampling: 'independent', chunkSize: 1, corruption: 'uniform',
      entityOptimizer: 'adagrad', relationOptimizer: 'adagrad', lr: 0.1, relationLr: 0.1, constraint: 'none', learnAnchorWeights: false, seed: 1, threads: 0,
    } as const;
    const backend = nativeBackendFactory.create({
      tables, optimizer: createOptimizerState(tables, 'adagrad', 'adagrad'), config: { ...config }, sampling: buildSamplingTables(ts.splits.train!, ts.entities, R),
    });
    const t0 = performance.now();
    const m = await evaluateLinkPrediction(backend, N, test, filter, { progress: false });
    result[model] = { seconds: Number(((performance.now() - t0) / 1000).toFixed(2)), mrr: Number(m.mrr.toFixed(5)) };
    process.stderr.write(`eval ${model}: ${result[model].seconds} s for ${test.heads.length} test triples × 2 sides × ${N} entities (random tables: MRR ${m.mrr.toFixed(4)})\n`);
    backend.dispose();
  }
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(`bench/kge-cpu eval-fb15k: ${(e as Error).message}`);
  process.exit(1);
});
