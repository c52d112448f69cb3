/**
 * Shared by the backend tests (test/kge-native-backend.test.ts, test/kge-cuda-backend.test.ts) and
 * bench/kge-gpu/parity.ts (the GPU machine has no jest): small random graphs, model setups, the battery's
 * config cases and comparisons of a backend against the js reference.
 */
import type { BackendInit, KgeBackend, ModelName, TrainConfig, TrainBatch } from '../src/kge/backends/backend';
import { allocateTables, initializeTables, createOptimizerState } from '../src/kge/model';
import { buildSamplingTables } from '../src/kge/sampling';
import { SeededRandom } from '../src/common/rng';
import type { AnchorIndex } from '../src/common/anchor-index';
import type { EntityEntry } from '../src/common/triple-set';

export interface Graph { N: number; R: number; heads: Int32Array; relations: Int32Array; tails: Int32Array; entities: EntityEntry[] }

export function randomGraph(N: number, R: number, T: number, seed: number): Graph {
  const rng = new SeededRandom(seed);
  const heads = new Int32Array(T), relations = new Int32Array(T), tails = new Int32Array(T);
  for (let i = 0; i < T; i++) {
    relations[i] = rng.int(R);
    heads[i] = rng.int(N);
    tails[i] = (heads[i] + 1 + rng.int(N - 1)) % N;
  }
  // Sorted by relation, so 'shared' chunks hold one relation (as the trainer orders them).
  const idx = Array.from({ length: T }, (_, i) => i).sort((a, b) => relations[a] - relations[b] || a - b);
  const entities = Array.from({ length: N }, (_, i) => ({ id: `e${i}`, type: i % 3 === 0 ? 'Pin' : 'User' }));
  return {
    N, R, entities,
    heads: Int32Array.from(idx, (i) => heads[i]), relations: Int32Array.from(idx, (i) => relations[i]), tails: Int32Array.from(idx, (i) => tails[i]),
  };
}

export function anchorIndex(N: number, A: number, K: number, seed: number): AnchorIndex {
  const rng = new SeededRandom(seed);
  const anchorOf = new Int32Array(N * K).fill(-1), hops = new Int32Array(N * K).fill(-1);
  for (let e = 0; e < N; e++) {
    const valid = rng.int(K + 1);
    for (let i = 0; i < valid; i++) {
      anchorOf[e * K + i] = rng.int(A);
      hops[e * K + i] = 1 + i;
    }
  }
  return { numEntities: N, k: K, anchors: Int32Array.from({ length: A }, (_, a) => a * 2), anchorOf, hops, selection: { byType: [], byDegree: A, maxHops: 3 } };
}

export function baseConfig(over: Partial<TrainConfig>): TrainConfig {
  return {
    loss: 'softplus', margin: 6, adversarialTemperature: 0, norm: 'l2', negatives: 8, sampling: 'independent', chunkSize: 16,
    corruption: 'uniform', entityOptimizer: 'adagrad', relationOptimizer: 'adam', lr: 0.05, relationLr: 0.01,
    constraint: 'none', learnAnchorWeights: true, seed: 12345, threads: 1, ...over,
  };
}

export function makeInit(g: Graph, model: ModelName, config: TrainConfig, dim = 16, relDim = 12): BackendInit {
  const anchors = model === 'transra' ? anchorIndex(g.N, 7, 3, 99) : null;
  const tables = allocateTables({ model, numEntities: g.N, numRelations: g.R, dim, relDim, anchorIndex: anchors });
  initializeTables(tables, 7, 0.5);
  if (tables.projection) {
    const rng = new SeededRandom(5);
    for (let i = 0; i < tables.projection.length; i++) tables.projection[i] += (rng.next() - 0.5) * 0.2;
  }
  const optimizer = createOptimizerState(tables, config.entityOptimizer, config.relationOptimizer);
  const sampling = buildSamplingTables({ heads: g.heads, relations: g.relations, tails: g.tails }, g.entities, g.R);
  return { tables, optimizer, config, sampling };
}

/** A deep copy of the tables and optimizer state (config replaced when given), for running two backends from one start. */
export function cloneInit(init: BackendInit, config: TrainConfig = init.config): BackendInit {
  const c = <T extends Float32Array | null>(a: T): T => (a ? (a.slice() as T) : a);
  const t = init.tables;
  const optimizer: BackendInit['optimizer'] = {};
  for (const [k, v] of Object.entries(init.optimizer)) optimizer[k as keyof typeof optimizer] = { s1: v!.s1.slice(), s2: v!.s2 ? v!.s2.slice() : null };
  return {
    tables: { ...t, entity: t.entity.slice(), relation: t.relation.slice(), projection: c(t.projection), anchor: c(t.anchor), anchorLogit: c(t.anchorLogit) },
    optimizer, config, sampling: init.sampling,
  };
}

export function batches(g: Graph, B: number, epochs: number): TrainBatch[] {
  const out: TrainBatch[] = [];
  let step = 1;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let off = 0; off < g.heads.length; off += B) {
      const end = Math.min(g.heads.length, off + B);
      out.push({ heads: g.heads.subarray(off, end), relations: g.relations.subarray(off, end), tails: g.tails.subarray(off, end), epoch, offset: off, step: step++ });
    }
  }
  return out;
}

export async function trajectory(backend: KgeBackend, bs: TrainBatch[]): Promise<number[]> {
  const losses: number[] = [];
  for (const b of bs) losses.push(await backend.trainBatch(b));
  return losses;
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(a[i]), Math.abs(b[i])));
  return m;
}


export const CASES: Array<[ModelName, Partial<TrainConfig>]> = [
  ['transe', {}],
  ['transe', { loss: 'margin', margin: 1, norm: 'l1', sampling: 'shared', entityOptimizer: 'adam', constraint: 'unit-ball' }],
  ['transe', { adversarialTemperature: 1, corruption: 'bernoulli', sampling: 'shared' }],
  ['transr', {}],
  ['transr', { loss: 'margin', margin: 1, sampling: 'shared', corruption: 'typed', constraint: 'unit-ball' }],
  ['transr', { norm: 'l1', adversarialTemperature: 0.5, entityOptimizer: 'adam', relationOptimizer: 'adagrad' }],
  ['transra', {}],
  ['transra', { sampling: 'shared', learnAnchorWeights: false, constraint: 'unit-ball', corruption: 'bernoulli' }],
  ['transra', { loss: 'margin', margin: 2, norm: 'l1', entityOptimizer: 'adam' }],
];



/** ‖a − b‖ / ‖a‖ over a whole table: a single Adagrad-amplified rounding residual may move one entry by a step. */
export function tableNormDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += a[i] ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-12));
}

/**
 * Largest tableNormDiff over the learned tables, the standard every engine is held to against js. TransRA's
 * anchor logits are left out: their gradient is a small difference of near-equal dot products, and an
 * Adagrad/Adam first step moves a logit by ±lr whatever that gradient's size, so a rounding-level sign flip
 * moves one entry by a whole step (the gradients themselves are compared in the gradients check).
 */
export function maxTableNormDiff(a: BackendInit, b: BackendInit): number {
  let m = Math.max(tableNormDiff(a.tables.entity, b.tables.entity), tableNormDiff(a.tables.relation, b.tables.relation));
  if (a.tables.projection) m = Math.max(m, tableNormDiff(a.tables.projection, b.tables.projection!));
  if (a.tables.anchor) m = Math.max(m, tableNormDiff(a.tables.anchor, b.tables.anchor!));
  return m;
}

/** Gradients of two backends: the largest |a − b| over the largest |a| (at least 1e-6) of each table (the battery allows
 * 1e-4); Infinity when b lacks a table of a or has it at another length. */
export function gradientRelDiff(a: Record<string, ArrayLike<number> | null | undefined>, b: Record<string, ArrayLike<number> | null | undefined>): number {
  let worst = 0;
  for (const [name, arr] of Object.entries(a)) {
    if (!arr) continue;
    const other = b[name];
    if (!other || other.length !== arr.length) return Infinity;
    let scale = 0, diff = 0;
    for (let i = 0; i < arr.length; i++) scale = Math.max(scale, Math.abs(arr[i]));
    for (let i = 0; i < arr.length; i++) diff = Math.max(diff, Math.abs(arr[i] - other[i]));
    worst = Math.max(worst, diff / Math.max(scale, 1e-6));
  }
  return worst;
}

/** How far `other` is from the js reference on one batch of g (the third of batches(g, 64, 1)) from the same init:
 * the loss and gradients (relative), and scoreAll for 37 queries on each side. The backend battery's "gradients and
 * scoreAll" check, for every backend. */
export async function gradientsAndScoresVsJs(g: Graph, init: BackendInit, js: KgeBackend, other: KgeBackend): Promise<{ lossRel: number; gradRel: number; scoreRel: number[] }> {
  const batch = batches(g, 64, 1)[2];
  const gj = await js.gradients(batch);
  const go = await other.gradients(batch);
  const scoreRel: number[] = [];
  for (const side of ['head', 'tail'] as const) {
    const queries = { side, known: g.heads.slice(0, 37), relations: g.relations.slice(0, 37) };
    const oj = new Float32Array(37 * g.N), oo = new Float32Array(37 * g.N);
    await js.scoreAll(queries, oj);
    await other.scoreAll(queries, oo);
    scoreRel.push(maxRelDiff(oj, oo));
  }
  return { lossRel: Math.abs(gj.loss - go.loss) / gj.loss, gradRel: gradientRelDiff(gj.gradients, go.gradients), scoreRel };
}
