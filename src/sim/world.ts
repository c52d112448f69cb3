/**
 * The latent world behind the simulated events: users with interests over categories, a purchase intent
 * and loyal advertisers; advertisers with a vertical and a category mix; pins promoted by advertisers.
 * Onsite behaviour depends on interests (graph structure: user → category ← pin), conversions mostly on
 * intent and loyalty, which only the offsite funnel reveals.
 */
import { SeededRandom, counterUint32 } from '../common/rng';
import { SimConfig } from './config';

export type FunnelType = 'commerce' | 'signup' | 'lead';

/** Verticals with their funnel: commerce ends in checkout, the others in signup or lead. */
export const VERTICALS: readonly { name: string; funnel: FunnelType }[] = [
  { name: 'retail', funnel: 'commerce' },
  { name: 'fashion', funnel: 'commerce' },
  { name: 'home', funnel: 'commerce' },
  { name: 'beauty', funnel: 'commerce' },
  { name: 'electronics', funnel: 'commerce' },
  { name: 'travel', funnel: 'commerce' },
  { name: 'finance', funnel: 'lead' },
  { name: 'education', funnel: 'signup' },
  { name: 'software', funnel: 'signup' },
  { name: 'services', funnel: 'lead' },
];

/** Interests and loyal advertisers per user, stored flat with this many slots (unused: -1). */
export const INTEREST_SLOTS = 3;
export const LOYAL_SLOTS = 3;

export interface World {
  config: SimConfig;
  /** Advertiser → index into VERTICALS. */
  advVertical: Uint8Array;
  /** Advertiser → quality, a logit offset of conversion. */
  advQuality: Float64Array;
  /** Pins of each advertiser (for organic purchases of their products). */
  advPins: Int32Array[];
  /** Advertisers whose mix includes each category. */
  categoryAdvertisers: Int32Array[];
  pinAdvertiser: Int32Array;
  pinCategory: Int32Array;
  /** Pin → creative quality, a logit offset of click. */
  pinQuality: Float64Array;
  /** First day the pin is served. */
  pinLaunchDay: Int32Array;
  /** Price in cents of the product each pin promotes (product id = "prod" + pin index). */
  productPriceCents: Int32Array;
  /** users × INTEREST_SLOTS: category index (-1 unused) and weight (sums to 1 per user). */
  interestCategory: Int32Array;
  interestWeight: Float64Array;
  /** Latent purchase intent in [0, 1], Beta(1, 3). */
  intent: Float64Array;
  /** users × LOYAL_SLOTS advertiser indexes, -1 unused. */
  loyal: Int32Array;
  optIn: Uint8Array;
  sparse: Uint8Array;
  /** Impressions each user gets over the whole run (sparse: 1–3). */
  impressionBudget: Int32Array;
  /** The one active day of a sparse user. */
  sparseDay: Int32Array;
}

/** Independent streams of one seed, so adding draws to one part never shifts another. */
export function streamRandom(seed: number, stream: number, index = 0): SeededRandom {
  return new SeededRandom(counterUint32(seed, stream, index));
}

export const STREAM = { advertisers: 1, pins: 2, users: 3, day: 4, corrupt: 5 } as const;

function pickWeighted(rng: SeededRandom, cumulative: Float64Array): number {
  const u = rng.next() * cumulative[cumulative.length - 1];
  let lo = 0, hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulativeOf(weights: number[]): Float64Array {
  const c = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) c[i] = s += weights[i];
  return c;
}

export function buildWorld(config: SimConfig): World {
  const { advertisers: A, pins: P, users: U, categories: C, days: D, seed } = config;
  const V = VERTICALS.length;

  // Advertisers: a vertical, then 1–3 categories, mostly of that vertical (category c belongs to vertical c mod V).
  const ar = streamRandom(seed, STREAM.advertisers);
  const advVertical = new Uint8Array(A);
  const advQuality = new Float64Array(A);
  const advCats: number[][] = [];
  const advCatCum: Float64Array[] = [];
  const categoryAdvLists: number[][] = Array.from({ length: C }, () => []);
  for (let a = 0; a < A; a++) {
    const v = ar.int(V);
    advVertical[a] = v;
    advQuality[a] = 0.3 * ar.normal();
    const own: number[] = [];
    for (let c = v; c < C; c += V) own.push(c);
    const n = 1 + ar.int(3);
    const cats: number[] = [];
    for (let j = 0; j < n; j++) {
      const c = own.length > 0 && ar.next() < 0.8 ? own[ar.int(own.length)] : ar.int(C);
      if (!cats.includes(c)) cats.push(c);
    }
    advCats.push(cats);
    advCatCum.push(cumulativeOf(cats.map(() => 0.2 + ar.next())));
    for (const c of cats) categoryAdvLists[c].push(a);
  }

  // Pins: every advertiser gets one, the rest go Zipf-like to big advertisers; category from the advertiser's mix.
  const pr = streamRandom(seed, STREAM.pins);
  const advZipf = cumulativeOf(Array.from({ length: A }, (_, a) => 1 / Math.pow(a + 1, 0.8)));
  const pinAdvertiser = new Int32Array(P);
  const pinCategory = new Int32Array(P);
  const pinQuality = new Float64Array(P);
  const pinLaunchDay = new Int32Array(P);
  const productPriceCents = new Int32Array(P);
  const advPinLists: number[][] = Array.from({ length: A }, () => []);
  for (let p = 0; p < P; p++) {
    const a = p < A ? p : pickWeighted(pr, advZipf);
    pinAdvertiser[p] = a;
    pinCategory[p] = advCats[a][pickWeighted(pr, advCatCum[a])];
    pinQuality[p] = 0.5 * pr.normal();
    // The first pin of each advertiser is live from day 0, so every day has pins to serve.
    pinLaunchDay[p] = p >= A && D > 1 && pr.next() < config.freshPinShare ? 1 + pr.int(D - 1) : 0;
    productPriceCents[p] = Math.max(99, Math.round(100 * Math.exp(Math.log(40) + 0.8 * pr.normal())));
    advPinLists[a].push(p);
  }

  // Category popularity is Zipf-like so some categories are hubs.
  const catZipf = cumulativeOf(Array.from({ length: C }, (_, c) => 1 / Math.pow(c + 1, 0.6)));
  const ur = streamRandom(seed, STREAM.users);
  const interestCategory = new Int32Array(U * INTEREST_SLOTS).fill(-1);
  const interestWeight = new Float64Array(U * INTEREST_SLOTS);
  const intent = new Float64Array(U);
  const loyal = new Int32Array(U * LOYAL_SLOTS).fill(-1);
  const optIn = new Uint8Array(U);
  const sparse = new Uint8Array(U);
  const impressionBudget = new Int32Array(U);
  const sparseDay = new Int32Array(U);
  const sigma = 1.3;
  const activeMean = config.impressionsPerUser - 4;
  const mu = Math.log(activeMean) - (sigma * sigma) / 2;
  const budgetCap = D * 1000;
  for (let u = 0; u < U; u++) {
    const k = Math.min(C, 1 + (ur.next() < 0.5 ? 0 : ur.next() < 0.6 ? 1 : 2));
    let wsum = 0;
    for (let j = 0; j < k; j++) {
      let c = pickWeighted(ur, catZipf);
      for (let tries = 0; tries < 10 && interestCategory.subarray(u * INTEREST_SLOTS, u * INTEREST_SLOTS + j).includes(c); tries++) c = ur.int(C);
      interestCategory[u * INTEREST_SLOTS + j] = c;
      const w = -Math.log(1 - ur.next()); // Dirichlet(1) via exponentials
      interestWeight[u * INTEREST_SLOTS + j] = w;
      wsum += w;
    }
    for (let j = 0; j < k; j++) interestWeight[u * INTEREST_SLOTS + j] /= wsum;
    intent[u] = 1 - Math.pow(1 - ur.next(), 1 / 3);
    const r = ur.next();
    const nLoyal = r < 0.3 ? 0 : r < 0.65 ? 1 : r < 0.9 ? 2 : 3;
    for (let j = 0; j < nLoyal; j++) {
      const c = interestCategory[u * INTEREST_SLOTS + ur.int(k)];
      const list = categoryAdvLists[c];
      loyal[u * LOYAL_SLOTS + j] = list.length > 0 ? list[ur.int(list.length)] : ur.int(A);
    }
    optIn[u] = ur.next() < config.optInShare ? 1 : 0;
    if (ur.next() < config.sparseShare) {
      sparse[u] = 1;
      impressionBudget[u] = 1 + ur.int(3);
      sparseDay[u] = ur.int(D);
    } else {
      impressionBudget[u] = Math.min(budgetCap, 4 + Math.round(Math.exp(mu + sigma * ur.normal())));
      sparseDay[u] = -1;
    }
  }

  return {
    config,
    advVertical,
    advQuality,
    advPins: advPinLists.map((l) => Int32Array.from(l)),
    categoryAdvertisers: categoryAdvLists.map((l) => Int32Array.from(l)),
    pinAdvertiser,
    pinCategory,
    pinQuality,
    pinLaunchDay,
    productPriceCents,
    interestCategory,
    interestWeight,
    intent,
    loyal,
    optIn,
    sparse,
    impressionBudget,
    sparseDay,
  };
}

/** Weight of category c in user u's interests (0 when not an interest). */
export function interestIn(w: World, u: number, c: number): number {
  const base = u * INTEREST_SLOTS;
  for (let j = 0; j < INTEREST_SLOTS; j++) if (w.interestCategory[base + j] === c) return w.interestWeight[base + j];
  return 0;
}

export function isLoyal(w: World, u: number, a: number): boolean {
  const base = u * LOYAL_SLOTS;
  for (let j = 0; j < LOYAL_SLOTS; j++) if (w.loyal[base + j] === a) return true;
  return false;
}
