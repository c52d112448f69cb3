/**
 * Filtered link prediction (Bordes et al. 2013): for each test triple, rank the true head (and tail)
 * among all entities — or, for typed graphs, among entities of the true entity's type — after
 * removing every other known true triple. Ties count half ("realistic" rank, as PyKEEN), so a model
 * that scores everything equal gets the random-guess rank.
 */
import type { KgeBackend, ScoreQueries } from '../backends/backend';
import type { TripleArrays } from '../../common/triple-set';
import { FilterIndex } from './filter-index';
import { progressBar } from '../progress';

export interface RankMetrics {
  mrr: number;
  /** Mean rank. */
  mr: number;
  hits1: number;
  hits3: number;
  hits10: number;
  /** Number of ranks (queries) averaged. */
  count: number;
}

export interface LinkPredictionMetrics extends RankMetrics {
  head: RankMetrics;
  tail: RankMetrics;
}

export interface EvaluateOptions {
  /** Rank only among entities of the true answer's type (entity → type index). */
  entityType?: Int32Array;
  /** Queries per scoring call (memory: batchSize × numEntities floats). */
  batchSize?: number;
  /** Show a progress bar (default: when stderr is a TTY). */
  progress?: boolean;
  label?: string;
}

/** Realistic filtered rank of `trueEntity` given distances row[0..N) (lower is better). */
export function filteredRank(row: Float32Array, off: number, numEntities: number, trueEntity: number, known: Int32Array, entityType?: Int32Array): number {
  const target = row[off + trueEntity];
  const type = entityType ? entityType[trueEntity] : -1;
  let better = 0, tied = 0;
  for (let e = 0; e < numEntities; e++) {
    if (e === trueEntity) continue;
    if (entityType && entityType[e] !== type) continue;
    const s = row[off + e];
    if (s < target) better++;
    else if (s === target) tied++;
  }
  // Known true answers other than this one are filtered out.
  for (let i = 0; i < known.length; i++) {
    const e = known[i];
    if (e === trueEntity) continue;
    if (entityType && entityType[e] !== type) continue;
    const s = row[off + e];
    if (s < target) better--;
    else if (s === target) tied--;
  }
  // NaN distances (diverged model) rank last rather than first.
  if (Number.isNaN(target)) return numEntities;
  return 1 + better + tied / 2;
}

export function summarizeRanks(ranks: Float64Array | number[]): RankMetrics {
  const n = ranks.length;
  let rr = 0, r = 0, h1 = 0, h3 = 0, h10 = 0;
  for (let i = 0; i < n; i++) {
    const x = ranks[i];
    rr += 1 / x;
    r += x;
    if (x <= 1) h1++;
    if (x <= 3) h3++;
    if (x <= 10) h10++;
  }
  const d = n || 1;
  return { mrr: rr / d, mr: r / d, hits1: h1 / d, hits3: h3 / d, hits10: h10 / d, count: n };
}

/** Filtered ranks of the heads ("head") or tails ("tail") of the given triples. */
export async function rankSide(
  backend: KgeBackend, numEntities: number, triples: TripleArrays, filter: FilterIndex, side: 'head' | 'tail', options: EvaluateOptions = {},
): Promise<Float64Array> {
  const n = triples.heads.length;
  const batch = Math.max(1, Math.min(options.batchSize ?? Math.max(1, Math.floor(4_000_000 / Math.max(1, numEntities))), n));
  // Sorted by relation so a TransR backend projects each relation's entities few times.
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => triples.relations[a] - triples.relations[b]);
  const ranks = new Float64Array(n);
  const out = new Float32Array(batch * numEntities);
  const bar = progressBar(options.label ?? `eval ${side}`, n, options.progress);
  for (let s = 0; s < n; s += batch) {
    const idx = order.subarray(s, Math.min(n, s + batch));
    const q: ScoreQueries = {
      side,
      known: Int32Array.from(idx, (i) => (side === 'tail' ? triples.heads[i] : triples.tails[i])),
      relations: Int32Array.from(idx, (i) => triples.relations[i]),
    };
    await backend.scoreAll(q, out);
    for (let qi = 0; qi < idx.length; qi++) {
      const i = idx[qi];
      const h = triples.heads[i], r = triples.relations[i], t = triples.tails[i];
      const trueEntity = side === 'tail' ? t : h;
      const known = side === 'tail' ? filter.knownTails(h, r) : filter.knownHeads(r, t);
      ranks[i] = filteredRank(out, qi * numEntities, numEntities, trueEntity, known, options.entityType);
    }
    bar.update(Math.min(n, s + batch));
  }
  bar.stop();
  return ranks;
}

/** Filtered MRR, mean rank and Hits@1/3/10 over head and tail prediction of `triples`. */
export async function evaluateLinkPrediction(
  backend: KgeBackend, numEntities: number, triples: TripleArrays, filter: FilterIndex, options: EvaluateOptions = {},
): Promise<LinkPredictionMetrics> {
  const head = await rankSide(backend, numEntities, triples, filter, 'head', { ...options, label: `${options.label ?? 'eval'} heads` });
  const tail = await rankSide(backend, numEntities, triples, filter, 'tail', { ...options, label: `${options.label ?? 'eval'} tails` });
  const both = new Float64Array(head.length + tail.length);
  both.set(head);
  both.set(tail, head.length);
  return { ...summarizeRanks(both), head: summarizeRanks(head), tail: summarizeRanks(tail) };
}
