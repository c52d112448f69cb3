/**
 * The user's offsite interactions, read from the graph snapshot (TripleSet) the KGE export was trained
 * on: per user, the advertisers reached through each user→advertiser relation (PAGE_VISIT, ADD_TO_CART,
 * CHECKOUT, SIGNUP, LEAD). Only opted-in users have such edges, and how deep their funnels go shows
 * purchase intent: the signal CVR depends on and the impressions alone barely show.
 */
import { TripleSet } from '../../common/triple-set';
import { ImpressionColumns } from './impressions';

/** User→advertiser relations, shallow to deep (PAGE_VISIT first); the token order keeps the deepest. */
export const OFFSITE_RELATIONS = ['PAGE_VISIT', 'ADD_TO_CART', 'CHECKOUT', 'SIGNUP', 'LEAD'] as const;

export interface OffsiteNeighbours {
  /** Per user code: [relation index into OFFSITE_RELATIONS, advertiser code] pairs, distinct. */
  byUser: [number, number][][];
  /** Per user code and relation: distinct advertisers (also those absent from the impressions), [users × R]. */
  counts: Int32Array;
  /**
   * Per user code and relation: the events behind those triples, [users × R]. From the snapshot's per-triple
   * event counts, so repeat visits and purchases count; 1 per triple when the snapshot has no counts.
   */
  events: Int32Array;
  /** Events per relation [R] of one user at one advertiser of the impressions, keyed user code × advertisers + advertiser code. */
  pairEvents: Map<number, Int32Array>;
  /** Triples used (head a User in the impressions, relation in OFFSITE_RELATIONS, tail an Advertiser). */
  edges: number;
}

export function offsiteNeighbours(graph: TripleSet, cols: ImpressionColumns): OffsiteNeighbours {
  const R = OFFSITE_RELATIONS.length;
  const A = cols.advertisers.size;
  const relIndex = graph.relations.map((name) => (OFFSITE_RELATIONS as readonly string[]).indexOf(name.toUpperCase()));
  const userCode = new Map(cols.users.ids.map((id, c) => [id, c]));
  const advCode = new Map(cols.advertisers.ids.map((id, c) => [id, c]));
  const byUser: [number, number][][] = Array.from({ length: cols.users.size }, () => []);
  const counts = new Int32Array(cols.users.size * R);
  const events = new Int32Array(cols.users.size * R);
  const pairEvents = new Map<number, Int32Array>();
  const seen = new Set<string>();
  const t = graph.splits.train;
  let edges = 0;
  if (!t) return { byUser, counts, events, pairEvents, edges };
  for (let i = 0; i < t.heads.length; i++) {
    const r = relIndex[t.relations[i]];
    if (r < 0) continue;
    const h = graph.entities[t.heads[i]];
    const a = graph.entities[t.tails[i]];
    if (h.type !== 'User' || a.type !== 'Advertiser') continue;
    const u = userCode.get(h.id);
    if (u === undefined) continue;
    const key = `${u}\u0000${r}\u0000${a.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    edges++;
    counts[u * R + r]++;
    const n = t.eventCounts ? t.eventCounts[i] : 1;
    events[u * R + r] += n;
    const ac = advCode.get(a.id);
    if (ac === undefined) continue;
    byUser[u].push([r, ac]);
    let pair = pairEvents.get(u * A + ac);
    if (!pair) pairEvents.set(u * A + ac, (pair = new Int32Array(R)));
    pair[r] += n;
  }
  for (const list of byUser) list.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  return { byUser, counts, events, pairEvents, edges };
}

const relation = (name: (typeof OFFSITE_RELATIONS)[number]) => OFFSITE_RELATIONS.indexOf(name);
const PAGE_VISIT = relation('PAGE_VISIT');
const ADD_TO_CART = relation('ADD_TO_CART');
/** Relations that record a conversion (the funnel's end), summed in the pair features. */
const CONVERSIONS = [relation('CHECKOUT'), relation('SIGNUP'), relation('LEAD')];

/**
 * Per-impression graph features (width OFFSITE_FEATURES):
 * - user-level: per relation log(1 + distinct advertisers), "has any offsite edge" (opted in), and per
 *   relation log(1 + events): repeats show purchase intent that distinct advertisers hide;
 * - user × the candidate's advertiser: log(1 + events) of PAGE_VISIT, of ADD_TO_CART and of conversions
 *   (CHECKOUT + SIGNUP + LEAD): repeat visits there show loyalty to that advertiser.
 * A converted training click finds its own funnel in these counts (an evaluation click never does); leaving it
 * out scored a lower CVR AUC on a split of the training days (docs/benchmarks.md, issue 6), so it stays.
 */
export const OFFSITE_FEATURES = 2 * OFFSITE_RELATIONS.length + 4;

export function offsiteFeatures(n: OffsiteNeighbours, cols: ImpressionColumns): Float32Array {
  const R = OFFSITE_RELATIONS.length;
  const F = OFFSITE_FEATURES;
  const U = 2 * R + 1; // user-level width
  const perUser = new Float32Array(cols.users.size * U);
  for (let u = 0; u < cols.users.size; u++) {
    let any = 0;
    for (let r = 0; r < R; r++) {
      const c = n.counts[u * R + r];
      any += c;
      perUser[u * U + r] = Math.log1p(c);
      perUser[u * U + R + 1 + r] = Math.log1p(n.events[u * R + r]);
    }
    perUser[u * U + R] = any > 0 ? 1 : 0;
  }
  const A = cols.advertisers.size;
  const out = new Float32Array(cols.n * F);
  for (let i = 0; i < cols.n; i++) {
    out.set(perUser.subarray(cols.user[i] * U, (cols.user[i] + 1) * U), i * F);
    const pair = n.pairEvents.get(cols.user[i] * A + cols.advertiser[i]);
    if (!pair) continue;
    let conv = 0;
    for (const r of CONVERSIONS) conv += pair[r];
    out[i * F + U] = Math.log1p(pair[PAGE_VISIT]);
    out[i * F + U + 1] = Math.log1p(pair[ADD_TO_CART]);
    out[i * F + U + 2] = Math.log1p(conv);
  }
  return out;
}

/**
 * Centres and scales each feature column in place by its mean and standard deviation over `rows` (the
 * training impressions), so the CVR logit's linear term and the towers see the counts on one scale.
 */
export function standardizeFeatures(features: Float32Array, width: number, rows: ArrayLike<number>): void {
  const mean = new Float64Array(width);
  const sq = new Float64Array(width);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * width;
    for (let j = 0; j < width; j++) {
      mean[j] += features[o + j];
      sq[j] += features[o + j] ** 2;
    }
  }
  const n = Math.max(1, rows.length);
  const scale = new Float64Array(width);
  for (let j = 0; j < width; j++) {
    mean[j] /= n;
    const sd = Math.sqrt(Math.max(0, sq[j] / n - mean[j] ** 2));
    scale[j] = sd > 1e-6 ? 1 / sd : 1; // a constant column is only centred
  }
  for (let o = 0; o < features.length; o += width) for (let j = 0; j < width; j++) features[o + j] = (features[o + j] - mean[j]) * scale[j];
}
