/**
 * The user's offsite interactions, read from the graph snapshot (TripleSet) the KGE export was trained
 * on: per user, the advertisers reached through each user→advertiser relation (PAGE_VISIT, ADD_TO_CART,
 * CHECKOUT, SIGNUP, LEAD). Only opted-in users have such edges, and how deep their funnels go shows
 * purchase intent: the signal CVR depends on and the impressions alone barely show.
 *
 * Time-respecting when the snapshot has its per-day breakdown (train.daily.bin): an impression sees only the
 * events of the days before its own, so a converted training click does not find its own funnel (the page
 * visit, cart and checkout after the click) in its features, just as an evaluation impression cannot (the
 * snapshot ends where evaluation starts, so evaluation rows see all of it). Without the breakdown every
 * impression sees the whole snapshot, as before.
 */
import { DAY_MS, TripleSet } from '../../common/triple-set';
import { ImpressionColumns } from './impressions';

/** User→advertiser relations, shallow to deep (PAGE_VISIT first); the token order keeps the deepest. */
export const OFFSITE_RELATIONS = ['PAGE_VISIT', 'ADD_TO_CART', 'CHECKOUT', 'SIGNUP', 'LEAD'] as const;

/** What a user has done offsite, up to some moment. */
export interface OffsiteState {
  /** Per user code: [relation index into OFFSITE_RELATIONS, advertiser code] pairs, distinct, deepest relation first. */
  byUser: [number, number][][];
  /** Per user code and relation: distinct advertisers (also those absent from the impressions), [users × R]. */
  counts: Int32Array;
  /**
   * Per user code and relation: the events behind those triples, [users × R]. From the snapshot's per-triple
   * event counts, so repeat visits and purchases count; 1 per triple when the snapshot has no counts.
   */
  events: Int32Array;
  /**
   * Of those, the events attributed to an ad click (their edge names the pin), [users × R]; the rest came
   * organically — a user returning to an advertiser on their own is the loyalty that drives conversion. 0 when
   * the snapshot has no attribution breakdown (train.daily-attributed.bin).
   */
  attributed: Int32Array;
  /**
   * Per relation [2R] of one user at one advertiser of the impressions — events in [0, R), attributed ones in
   * [R, 2R) — keyed user code × advertisers + advertiser code.
   */
  pairEvents: Map<number, Int32Array>;
}

/** One day's events of one user→advertiser triple. */
interface OffsiteStep {
  /** UTC epoch day (floor(ms / DAY_MS)) */
  day: number;
  user: number;
  relation: number;
  /** Advertiser code in the impressions, -1 when never shown */
  advertiser: number;
  events: number;
  /** Of those, attributed to an ad click */
  attributed: number;
  /** The triple's first day: its advertiser becomes a distinct neighbour */
  first: boolean;
}

/** The whole snapshot's state, and (with the per-day breakdown) the steps that build it day by day. */
export interface OffsiteNeighbours extends OffsiteState {
  /** Triples used (head a User in the impressions, relation in OFFSITE_RELATIONS, tail an Advertiser). */
  edges: number;
  /** Sorted by day; null when the snapshot has no per-day breakdown (every row then sees the whole state). */
  steps: OffsiteStep[] | null;
}

function emptyState(users: number): OffsiteState {
  const R = OFFSITE_RELATIONS.length;
  return { byUser: Array.from({ length: users }, () => []), counts: new Int32Array(users * R), events: new Int32Array(users * R), attributed: new Int32Array(users * R), pairEvents: new Map() };
}

/** Adds events of one triple (`attributed` of them after an ad click) to a state; `first` adds its advertiser as a distinct neighbour. */
function addEvents(s: OffsiteState, A: number, u: number, r: number, ac: number, events: number, attributed: number, first: boolean): void {
  const R = OFFSITE_RELATIONS.length;
  if (first) s.counts[u * R + r]++;
  s.events[u * R + r] += events;
  s.attributed[u * R + r] += attributed;
  if (ac < 0) return;
  if (first) {
    const list = s.byUser[u];
    list.push([r, ac]);
    list.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  }
  let pair = s.pairEvents.get(u * A + ac);
  if (!pair) s.pairEvents.set(u * A + ac, (pair = new Int32Array(2 * R)));
  pair[r] += events;
  pair[R + r] += attributed;
}

export function offsiteNeighbours(graph: TripleSet, cols: ImpressionColumns): OffsiteNeighbours {
  const A = cols.advertisers.size;
  const relIndex = graph.relations.map((name) => (OFFSITE_RELATIONS as readonly string[]).indexOf(name.toUpperCase()));
  const userCode = new Map(cols.users.ids.map((id, c) => [id, c]));
  const advCode = new Map(cols.advertisers.ids.map((id, c) => [id, c]));
  const state = emptyState(cols.users.size);
  const seen = new Set<string>();
  const t = graph.splits.train;
  let edges = 0;
  if (!t) return { ...state, edges, steps: null };
  // Triple index → [user, relation, advertiser code] for the triples used, to follow the per-day breakdown.
  const used = new Map<number, [number, number, number]>();
  const d = t.daily;
  // Per triple, its events attributed to an ad click (the per-day breakdown is the only place they are kept).
  const attributedOf = new Int32Array(t.heads.length);
  if (d?.attributed) for (let k = 0; k < d.triple.length; k++) attributedOf[d.triple[k]] += d.attributed[k];
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
    const ac = advCode.get(a.id) ?? -1;
    used.set(i, [u, r, ac]);
    addEvents(state, A, u, r, ac, t.eventCounts ? t.eventCounts[i] : 1, attributedOf[i], true);
  }
  let steps: OffsiteStep[] | null = null;
  if (d) {
    steps = [];
    const originDay = Math.round(d.origin / DAY_MS);
    for (let k = 0; k < d.triple.length; k++) {
      const hit = used.get(d.triple[k]);
      if (!hit) continue;
      const first = k === 0 || d.triple[k - 1] !== d.triple[k];
      steps.push({ day: originDay + d.day[k], user: hit[0], relation: hit[1], advertiser: hit[2], events: d.events[k], attributed: d.attributed ? d.attributed[k] : 0, first });
    }
    steps.sort((x, y) => x.day - y.day); // stable: a triple's first day stays ahead of its later ones
  }
  return { ...state, edges, steps };
}

/**
 * Calls `visit(i, state)` for every impression i with the offsite state it may see: with per-day steps, the
 * events of the UTC days before the impression's day (the state is updated in place between calls, so read
 * it inside `visit`); without them, the whole snapshot for every impression.
 */
export function forEachImpressionState(n: OffsiteNeighbours, cols: ImpressionColumns, visit: (i: number, s: OffsiteState) => void): void {
  if (!n.steps) {
    for (let i = 0; i < cols.n; i++) visit(i, n);
    return;
  }
  const order = Int32Array.from({ length: cols.n }, (_, i) => i).sort((a, b) => cols.ts[a] - cols.ts[b]);
  const state = emptyState(cols.users.size);
  const A = cols.advertisers.size;
  let k = 0;
  for (const i of order) {
    const day = Math.floor(cols.ts[i] / DAY_MS);
    for (; k < n.steps.length && n.steps[k].day < day; k++) {
      const s = n.steps[k];
      addEvents(state, A, s.user, s.relation, s.advertiser, s.events, s.attributed, s.first);
    }
    visit(i, state);
  }
}

const relation = (name: (typeof OFFSITE_RELATIONS)[number]) => OFFSITE_RELATIONS.indexOf(name);
const PAGE_VISIT = relation('PAGE_VISIT');
const ADD_TO_CART = relation('ADD_TO_CART');
/** Relations that record a conversion (the funnel's end), summed in the pair features. */
const CONVERSIONS = [relation('CHECKOUT'), relation('SIGNUP'), relation('LEAD')];

/**
 * Per-impression graph features (width OFFSITE_FEATURES), from the state the impression may see
 * (forEachImpressionState):
 * - user-level: per relation log(1 + distinct advertisers), "has any offsite edge" (opted in), and per
 *   relation log(1 + organic events) and log(1 + events attributed to an ad click): repeats show purchase
 *   intent that distinct advertisers hide, and organic ones are the user's own, not the ad's doing;
 * - user × the candidate's advertiser: log(1 + events) of PAGE_VISIT, of ADD_TO_CART and of conversions
 *   (CHECKOUT + SIGNUP + LEAD), organic and attributed apart: a user who comes back to that advertiser on
 *   their own is loyal to it, while a visit right after an ad click says little. Across seven simulated worlds
 *   the split raised a logistic regression's CVR AUC on every one (+0.007 on average, docs/benchmarks.md).
 */
export const OFFSITE_FEATURES = 3 * OFFSITE_RELATIONS.length + 1 + 6;

export function offsiteFeatures(n: OffsiteNeighbours, cols: ImpressionColumns): Float32Array {
  const R = OFFSITE_RELATIONS.length;
  const F = OFFSITE_FEATURES;
  const U = 3 * R + 1; // user-level width
  const A = cols.advertisers.size;
  const out = new Float32Array(cols.n * F);
  forEachImpressionState(n, cols, (i, s) => {
    const u = cols.user[i];
    const o = i * F;
    let any = 0;
    for (let r = 0; r < R; r++) {
      const c = s.counts[u * R + r];
      const attributed = s.attributed[u * R + r];
      any += c;
      out[o + r] = Math.log1p(c);
      out[o + R + 1 + r] = Math.log1p(s.events[u * R + r] - attributed);
      out[o + 2 * R + 1 + r] = Math.log1p(attributed);
    }
    out[o + R] = any > 0 ? 1 : 0;
    const pair = s.pairEvents.get(u * A + cols.advertiser[i]);
    if (!pair) return;
    // [organic, attributed] of visits, carts, conversions
    const of = (rs: readonly number[]) => {
      let all = 0, att = 0;
      for (const r of rs) (all += pair[r]), (att += pair[R + r]);
      return [all - att, att];
    };
    [[PAGE_VISIT], [ADD_TO_CART], CONVERSIONS].forEach((rs, j) => {
      const [organic, attributed] = of(rs);
      out[o + U + j] = Math.log1p(organic);
      out[o + U + 3 + j] = Math.log1p(attributed);
    });
  });
  return out;
}

/**
 * Centres and scales each feature column in place by its mean and standard deviation over `rows` (the
 * training impressions), so the CVR logit's linear term and the towers see the counts on one scale. Returns the
 * means and scales (x' = (x − mean)·scale), which a saved model needs to prepare new impressions the same way.
 */
export function standardizeFeatures(features: Float32Array, width: number, rows: ArrayLike<number>): { mean: Float64Array; scale: Float64Array } {
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
  return { mean, scale };
}
