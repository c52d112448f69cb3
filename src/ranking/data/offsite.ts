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
  /** Triples used (head a User in the impressions, relation in OFFSITE_RELATIONS, tail an Advertiser). */
  edges: number;
}

export function offsiteNeighbours(graph: TripleSet, cols: ImpressionColumns): OffsiteNeighbours {
  const R = OFFSITE_RELATIONS.length;
  const relIndex = graph.relations.map((name) => (OFFSITE_RELATIONS as readonly string[]).indexOf(name.toUpperCase()));
  const userCode = new Map(cols.users.ids.map((id, c) => [id, c]));
  const advCode = new Map(cols.advertisers.ids.map((id, c) => [id, c]));
  const byUser: [number, number][][] = Array.from({ length: cols.users.size }, () => []);
  const counts = new Int32Array(cols.users.size * R);
  const seen = new Set<string>();
  const t = graph.splits.train;
  let edges = 0;
  if (!t) return { byUser, counts, edges };
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
    const ac = advCode.get(a.id);
    if (ac !== undefined) byUser[u].push([r, ac]);
  }
  for (const list of byUser) list.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  return { byUser, counts, edges };
}

/**
 * Per-impression graph features (width R + 1, user-level): per relation log(1 + distinct advertisers),
 * then "has any offsite edge" (opted in). Whether the candidate's advertiser is among the neighbours is
 * left to the tokens: as a feature it scored the same CVR AUC with a worse log-loss (a converted
 * training click always finds its own checkout edge there, an evaluation click never does).
 */
export const OFFSITE_FEATURES = OFFSITE_RELATIONS.length + 1;

export function offsiteFeatures(n: OffsiteNeighbours, cols: ImpressionColumns): Float32Array {
  const R = OFFSITE_RELATIONS.length;
  const F = OFFSITE_FEATURES;
  const perUser = new Float32Array(cols.users.size * F);
  for (let u = 0; u < cols.users.size; u++) {
    let any = 0;
    for (let r = 0; r < R; r++) {
      const c = n.counts[u * R + r];
      any += c;
      perUser[u * F + r] = Math.log1p(c);
    }
    perUser[u * F + R] = any > 0 ? 1 : 0;
  }
  const out = new Float32Array(cols.n * F);
  for (let i = 0; i < cols.n; i++) out.set(perUser.subarray(cols.user[i] * F, (cols.user[i] + 1) * F), i * F);
  return out;
}
