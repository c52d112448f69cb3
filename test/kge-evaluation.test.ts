/** Filtered ranking on hand-made graphs whose ranks are computed by hand. */
import {
  allocateTables, buildSamplingTables, createOptimizerState, jsBackendFactoryForTest, FilterIndex, evaluateLinkPrediction, filteredRank, summarizeRanks,
  type TrainConfig,
} from './kge-eval-helpers';

const config: TrainConfig = {
  loss: 'margin', margin: 1, adversarialTemperature: 0, norm: 'l1', negatives: 1, sampling: 'independent', chunkSize: 1, corruption: 'uniform',
  entityOptimizer: 'adagrad', relationOptimizer: 'adagrad', lr: 0.1, relationLr: 0.1, constraint: 'none', learnAnchorWeights: false, seed: 1, threads: 1,
};

/** 1-D TransE: x_e = e for entities 0..3, one relation r = +1. */
function lineModel() {
  const tables = allocateTables({ model: 'transe', numEntities: 4, numRelations: 1, dim: 1 });
  tables.entity.set([0, 1, 2, 3]);
  tables.relation.set([1]);
  const train = { heads: Int32Array.from([0, 1]), relations: Int32Array.from([0, 0]), tails: Int32Array.from([1, 2]) };
  const entities = [0, 1, 2, 3].map((i) => ({ id: `e${i}`, type: i < 2 ? 'A' : 'B' }));
  const backend = jsBackendFactoryForTest.create({
    tables, optimizer: createOptimizerState(tables, 'adagrad', 'adagrad'), config, sampling: buildSamplingTables(train, entities, 1),
  });
  return { tables, backend, train, entities };
}

describe('filtered link prediction on a line', () => {
  test('ranks by hand: ties count half, known triples are filtered', async () => {
    const { backend, train } = lineModel();
    const test = { heads: Int32Array.from([0]), relations: Int32Array.from([0]), tails: Int32Array.from([2]) };
    const filter = new FilterIndex([train, test], 1);
    // tail query (0, r, ?): dist |1 − e| = [1, 0, 1, 2]; e=1 is known (0,r,1) → filtered; e=0 ties with the true e=2.
    // head query (?, r, 2): dist |e − 1| = [1, 0, 1, 2]; e=1 is known (1,r,2) → filtered; e=2 ties with the true e=0.
    const m = await evaluateLinkPrediction(backend, 4, test, filter, { progress: false });
    expect(m.tail.mrr).toBeCloseTo(1 / 1.5, 10);
    expect(m.head.mrr).toBeCloseTo(1 / 1.5, 10);
    expect(m.hits1).toBe(0);
    expect(m.hits3).toBe(1);
    expect(m.count).toBe(2);
  });

  test('without filtering the known answer ranks ahead', async () => {
    const { backend } = lineModel();
    const test = { heads: Int32Array.from([0]), relations: Int32Array.from([0]), tails: Int32Array.from([2]) };
    const m = await evaluateLinkPrediction(backend, 4, test, new FilterIndex([test], 1), { progress: false });
    // tail: e=1 (dist 0) better, e=0 tied → rank 2.5; head: e=1 better, e=2 tied → 2.5.
    expect(m.mrr).toBeCloseTo(1 / 2.5, 10);
    expect(m.mr).toBeCloseTo(2.5, 10);
  });

  test('typed ranking counts only entities of the true answer\'s type', async () => {
    const { backend, train } = lineModel();
    const test = { heads: Int32Array.from([0]), relations: Int32Array.from([0]), tails: Int32Array.from([3]) };
    const entityType = Int32Array.from([0, 0, 1, 1]);
    const filter = new FilterIndex([train, test], 1);
    const typed = await evaluateLinkPrediction(backend, 4, test, filter, { entityType, progress: false });
    const untyped = await evaluateLinkPrediction(backend, 4, test, filter, { progress: false });
    // tail query (0, r, ?): dist |1 − e| = [1, 0, 1, 2]; true 3 (type B); e=1 is known (0,r,1).
    // typed (B: 2, 3): e=2 better → 2. untyped: e=0 and e=2 better → 3.
    expect(typed.tail.mr).toBe(2);
    expect(untyped.tail.mr).toBe(3);
    // head query (?, r, 3): dist |e − 2| = [2, 1, 0, 1]; true 0 (type A).
    // typed (A: 0, 1): e=1 better → 2. untyped: e=1, 2, 3 better → 4.
    expect(typed.head.mr).toBe(2);
    expect(untyped.head.mr).toBe(4);
  });

  test('a model that scores everything equal gets the random rank', () => {
    const row = new Float32Array(101).fill(3);
    expect(filteredRank(row, 0, 101, 17, new Int32Array(0))).toBe(51);
    const s = summarizeRanks([1, 2, 4, 10, 11]);
    expect(s.mrr).toBeCloseTo((1 + 0.5 + 0.25 + 0.1 + 1 / 11) / 5, 12);
    expect(s.hits1).toBeCloseTo(0.2);
    expect(s.hits3).toBeCloseTo(0.4);
    expect(s.hits10).toBeCloseTo(0.8);
  });

  test('TransR scores use the projection: M_r maps entities before translating', async () => {
    // d = 2, k = 1, M_r = [1, 0] keeps the first coordinate only.
    const tables = allocateTables({ model: 'transr', numEntities: 3, numRelations: 1, dim: 2, relDim: 1 });
    tables.entity.set([0, 5, 1, -7, 2, 9]);
    tables.relation.set([1]);
    tables.projection!.set([1, 0]);
    const train = { heads: Int32Array.from([0]), relations: Int32Array.from([0]), tails: Int32Array.from([1]) };
    const entities = [0, 1, 2].map((i) => ({ id: `e${i}`, type: 'E' }));
    const b = jsBackendFactoryForTest.create({ tables, optimizer: createOptimizerState(tables, 'adagrad', 'adagrad'), config, sampling: buildSamplingTables(train, entities, 1) });
    const out = new Float32Array(3);
    await b.scoreAll({ side: 'tail', known: Int32Array.from([0]), relations: Int32Array.from([0]) }, out);
    // |M h + r − M e| = |0 + 1 − e₀| for e₀ = 0, 1, 2.
    expect(Array.from(out)).toEqual([1, 0, 1]);
    await b.scoreAll({ side: 'head', known: Int32Array.from([2]), relations: Int32Array.from([0]) }, out);
    // |M e + r − M t| = |e₀ + 1 − 2|.
    expect(Array.from(out)).toEqual([1, 0, 1]);
  });
});
