/**
 * How long filtered link-prediction evaluation of FB15k-237's test split takes on the native backend
 * (20,466 triples × 2 sides × 14,541 entities), for TransE and TransR with l1 and l2 distances
 * (d = k = 128, random tables: the time does not depend on the values); scoring and the filtered ranking
 * of src/kge/evaluation together. Needs ../shared/datasets/kg/FB15k-237.tar.gz.
 *
 *   bash bench/kge-cpu/eval-fb15k.sh
 * Last line: {"transe-l1":{"seconds":S,"mrr":M},"transe-l2":{...},"transr-l1":{...},"transr-l2":{...}}
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
  const cases: Array<[ModelName, 'l1' | 'l2']> = [['transe', 'l1'], ['transe', 'l2'], ['transr', 'l1'], ['transr', 'l2']];
  for (const [model, norm] of cases) {
    const name = `${model}-${norm}`;
    const tables = allocateTables({ model, numEntities: N, numRelations: R, dim: 128, relDim: 128 });
    initializeTables(tables, 1, 0.1);
    const config = {
      loss: 'softplus', margin: 6, adversarialTemperature: 0, norm, negatives: 1, sampling: 'independent', chunkSize: 1, corruption: 'uniform',
      entityOptimizer: 'adagrad', relationOptimizer: 'adagrad', lr: 0.1, relationLr: 0.1, constraint: 'none', learnAnchorWeights: false, seed: 1, threads: 0,
    } as const;
    const backend = nativeBackendFactory.create({
      tables, optimizer: createOptimizerState(tables, 'adagrad', 'adagrad'), config: { ...config }, sampling: buildSamplingTables(ts.splits.train!, ts.entities, R),
    });
    const t0 = performance.now();
    const m = await evaluateLinkPrediction(backend, N, test, filter, { progress: false });
    result[name] = { seconds: Number(((performance.now() - t0) / 1000).toFixed(2)), mrr: Number(m.mrr.toFixed(5)) };
    process.stderr.write(`eval ${name}: ${result[name].seconds} s for ${test.heads.length} test triples × 2 sides × ${N} entities (random tables: MRR ${m.mrr.toFixed(4)})\n`);
    backend.dispose();
  }
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(`bench/kge-cpu eval-fb15k: ${(e as Error).message}`);
  process.exit(1);
});
