/**
 * Simulates one day of the world into an EventBuffer (events) and a TruthBuffer (one record per
 * impression with its true probabilities and its labels). Each user's day is generated in time order,
 * so last-click attribution can be settled while generating.
 */
import { SeededRandom } from '../common/rng';
import {
  A_ADD_TO_CART, A_CHECKOUT, A_CLICK, A_CLOSEUP, A_HIDE, A_IMPRESSION, A_LEAD, A_PAGE_VISIT, A_SAVE, A_SIGNUP,
  EventBuffer, MS_PER_DAY,
} from './event-buffer';
import { INTEREST_SLOTS, LOYAL_SLOTS, STREAM, VERTICALS, World, interestIn, isLoyal, streamRandom } from './world';

/** Per-impression ground truth of one day, indexed by EventBuffer.truth. */
export class TruthBuffer {
  length = 0;
  click = new Uint8Array(0);
  /** Conversions attributed to this impression's click (label = count > 0). */
  conversions = new Uint16Array(0);
  pClick = new Float64Array(0);
  pConvert = new Float64Array(0);

  constructor(capacity = 1 << 15) {
    this.grow(capacity);
  }

  private grow(n: number): void {
    const c = new Uint8Array(n); c.set(this.click.subarray(0, this.length)); this.click = c;
    const v = new Uint16Array(n); v.set(this.conversions.subarray(0, this.length)); this.conversions = v;
    const a = new Float64Array(n); a.set(this.pClick.subarray(0, this.length)); this.pClick = a;
    const b = new Float64Array(n); b.set(this.pConvert.subarray(0, this.length)); this.pConvert = b;
  }

  clear(): void {
    this.length = 0;
  }

  push(pClick: number, pConvert: number): number {
    if (this.length === this.click.length) this.grow(this.length * 2);
    const i = this.length++;
    this.click[i] = 0;
    this.conversions[i] = 0;
    this.pClick[i] = pClick;
    this.pConvert[i] = pConvert;
    return i;
  }
}

// Logit weights of the true models. Clicks follow interests (graph structure); conversions follow intent
// and loyalty, which the onsite half never shows.
const CLICK_BASE = -5.0, CLICK_INTEREST = 2.5, CLICK_LOYAL = 0.7;
const SURFACE_OFFSET = [0, 0.5, -0.2];
const SURFACE_CUM = [0.6, 0.85, 1.0];
const CONVERT_BASE = -3.8, CONVERT_INTENT = 5.0, CONVERT_LOYAL = 1.5, CONVERT_INTEREST = 1.0;

/** Relative activity per UTC hour, for session start times. */
const HOURLY = [2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 6, 6, 7, 7, 6, 6, 7, 8, 9, 10, 10, 9, 6, 3];
const HOURLY_CUM = (() => {
  const c = new Float64Array(24);
  let s = 0;
  for (let h = 0; h < 24; h++) c[h] = s += HOURLY[h];
  for (let h = 0; h < 24; h++) c[h] /= s;
  return c;
})();

const SEC = 1000, MIN = 60_000, HOUR = 3_600_000;
/** Sessions end this long before midnight, so a click's funnel always has room later that day. */
const DAY_END_MARGIN = 60 * SEC;
const MAX_IMPRESSIONS_PER_DAY = 2000;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Probabilities are rounded to 6 decimals before use, so the printed value is the one that was drawn against. */
function roundProb(p: number): number {
  const r = Math.round(p * 1e6) / 1e6;
  return r < 1e-6 ? 1e-6 : r > 0.999999 ? 0.999999 : r;
}

function poisson(rng: SeededRandom, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * rng.normal()));
  const l = Math.exp(-mean);
  let k = 0, p = rng.next();
  while (p > l) { k++; p *= rng.next(); }
  return k;
}

function binomial(rng: SeededRandom, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const mean = n * p;
  if (mean > 30) return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - p)) * rng.normal())));
  // Inversion: walk the pmf from 0.
  const q = 1 - p, s = p / q, a = (n + 1) * s;
  let r = Math.pow(q, n), u = rng.next(), x = 0;
  while (u > r && x < n) { u -= r; x++; r *= a / x - s; }
  return x;
}

/** Fraction of the day from the diurnal profile. */
function diurnalFraction(rng: SeededRandom): number {
  const u = rng.next();
  let h = 0;
  while (h < 23 && HOURLY_CUM[h] <= u) h++;
  return (h + rng.next()) / 24;
}

export class DaySimulator {
  readonly events = new EventBuffer();
  readonly truth = new TruthBuffer();
  /** Impressions left to each non-sparse user over the remaining days. */
  private readonly remaining: Int32Array;
  private liveByCategory: Int32Array[] = [];
  private live = new Int32Array(0);
  // Scratch, reused across users.
  private gaps = new Float64Array(MAX_IMPRESSIONS_PER_DAY);
  private sessionSizes: number[] = [];
  private sessionStarts: number[] = [];
  private pendPin: number[] = [];
  private pendTs: number[] = [];
  private pendTruth: number[] = [];

  constructor(private readonly world: World) {
    this.remaining = Int32Array.from(world.impressionBudget);
  }

  /** Fills events and truth with day d (events unsorted; each user's events in time order). */
  simulate(day: number): void {
    const w = this.world;
    this.events.clear();
    this.truth.clear();
    this.refreshLivePins(day);
    const rng = streamRandom(w.config.seed, STREAM.day, day);
    for (let u = 0; u < w.config.users; u++) {
      const n = this.impressionsToday(rng, u, day);
      if (n > 0) this.userSessions(rng, u, n);
      if (w.optIn[u]) this.organicFunnels(rng, u);
    }
  }

  private refreshLivePins(day: number): void {
    const w = this.world;
    const byCat: number[][] = Array.from({ length: w.config.categories }, () => []);
    const live: number[] = [];
    for (let p = 0; p < w.config.pins; p++) {
      if (w.pinLaunchDay[p] > day) continue;
      live.push(p);
      byCat[w.pinCategory[p]].push(p);
    }
    this.live = Int32Array.from(live);
    this.liveByCategory = byCat.map((l) => Int32Array.from(l));
  }

  private impressionsToday(rng: SeededRandom, u: number, day: number): number {
    const w = this.world;
    if (w.sparse[u]) return w.sparseDay[u] === day ? w.impressionBudget[u] : 0;
    const left = this.remaining[u];
    const daysLeft = w.config.days - day;
    const n = Math.min(MAX_IMPRESSIONS_PER_DAY, daysLeft <= 1 ? left : binomial(rng, left, 1 / daysLeft));
    this.remaining[u] = left - n;
    return n;
  }

  /** Lays out non-overlapping sessions over the day (diurnal starts), then plays their impressions in order. */
  private userSessions(rng: SeededRandom, u: number, n: number): void {
    const sizes = this.sessionSizes, starts = this.sessionStarts, gaps = this.gaps;
    sizes.length = 0;
    starts.length = 0;
    let left = n, total = 0;
    const lnStay = Math.log(1 - 1 / 6);
    while (left > 0) {
      const s = Math.min(left, 1 + Math.floor(Math.log(1 - rng.next()) / lnStay));
      sizes.push(s);
      left -= s;
    }
    for (let i = 0; i < n; i++) total += gaps[i] = 10 * SEC + rng.next() * 30 * SEC;
    const usable = MS_PER_DAY - DAY_END_MARGIN;
    const scale = total > usable * 0.95 ? (usable * 0.95) / total : 1;
    if (scale < 1) for (let i = 0; i < n; i++) gaps[i] *= scale;
    const free = usable - total * scale;
    for (let k = 0; k < sizes.length; k++) starts.push(diurnalFraction(rng));
    starts.sort((a, b) => a - b);
    this.pendPin.length = this.pendTs.length = this.pendTruth.length = 0;
    let g = 0, spanBefore = 0;
    for (let k = 0; k < sizes.length; k++) {
      let t = starts[k] * free + spanBefore;
      for (let j = 0; j < sizes[k]; j++, g++) {
        this.impression(rng, u, Math.floor(t), gaps[g]);
        t += gaps[g];
        spanBefore += gaps[g];
      }
    }
  }

  private impression(rng: SeededRandom, u: number, t: number, gap: number): void {
    const w = this.world, ev = this.events;
    const r = rng.next();
    const surface = r < SURFACE_CUM[0] ? 0 : r < SURFACE_CUM[1] ? 1 : 2;
    let p: number;
    if (surface === 1 || rng.next() < w.config.targetedShare) {
      const base = u * INTEREST_SLOTS;
      let x = rng.next(), j = 0;
      while (j < INTEREST_SLOTS - 1 && w.interestCategory[base + j + 1] >= 0 && x >= w.interestWeight[base + j]) x -= w.interestWeight[base + j++];
      const list = this.liveByCategory[w.interestCategory[base + j]];
      p = list.length > 0 ? list[rng.int(list.length)] : this.live[rng.int(this.live.length)];
    } else {
      p = this.live[rng.int(this.live.length)];
    }
    const a = w.pinAdvertiser[p];
    const interest = interestIn(w, u, w.pinCategory[p]);
    const loyal = isLoyal(w, u, a) ? 1 : 0;
    const logitClick = CLICK_BASE + CLICK_INTEREST * interest + w.pinQuality[p] + SURFACE_OFFSET[surface] + CLICK_LOYAL * loyal;
    const pClick = roundProb(sigmoid(logitClick));
    const pConvertTrue = roundProb(
      sigmoid(CONVERT_BASE + CONVERT_INTENT * (w.intent[u] - 0.25) + CONVERT_LOYAL * loyal + CONVERT_INTEREST * interest + w.advQuality[a]),
    );
    const optIn = w.optIn[u] === 1;
    const ti = this.truth.push(pClick, optIn ? pConvertTrue : 0);
    ev.push(t, A_IMPRESSION, u, p, a, surface, -1, 0, ti);
    // Follow-ups happen inside the gap before the next impression, so a user's clicks stay in time order.
    if (rng.next() < sigmoid(logitClick + 1.0)) ev.push(t + Math.floor(gap * (0.05 + 0.15 * rng.next())), A_CLOSEUP, u, p, a, surface, -1, 0, -1);
    const clicked = rng.next() < pClick;
    if (clicked) {
      const tc = t + Math.floor(gap * (0.2 + 0.3 * rng.next()));
      ev.push(tc, A_CLICK, u, p, a, surface, -1, 0, -1);
      this.truth.click[ti] = 1;
      this.attributeClick(p, tc, ti);
      if (optIn) this.clickFunnel(rng, u, p, a, tc, ti, rng.next() < pConvertTrue);
    } else if (rng.next() < sigmoid(-4.0 - 3 * interest)) {
      ev.push(t + Math.floor(gap * (0.1 + 0.3 * rng.next())), A_HIDE, u, p, a, surface, -1, 0, -1);
    }
    if (rng.next() < sigmoid(-5.5 + 2.5 * interest + w.pinQuality[p] + (clicked ? 1.5 : 0))) {
      ev.push(t + Math.floor(gap * (0.55 + 0.4 * rng.next())), A_SAVE, u, p, a, surface, -1, 0, -1);
    }
  }

  /** Last click wins: conversions still to come on this pin move to the new click. */
  private attributeClick(p: number, tc: number, ti: number): void {
    const tr = this.truth;
    for (let k = 0; k < this.pendPin.length; k++) {
      if (this.pendPin[k] === p && this.pendTs[k] > tc) {
        tr.conversions[this.pendTruth[k]]--;
        tr.conversions[ti]++;
        this.pendTruth[k] = ti;
      }
    }
  }

  /** page_visit → add_to_cart → checkout (or → signup/lead), carrying the pin, finished before midnight. */
  private clickFunnel(rng: SeededRandom, u: number, p: number, a: number, tc: number, ti: number, converts: boolean): void {
    const funnel = VERTICALS[this.world.advVertical[a]].funnel;
    if (!converts && rng.next() >= 0.75) return;
    const tVisit = 1 * SEC + rng.next() * 9 * SEC;
    let tCart = -1, tConv = -1;
    if (funnel === 'commerce') {
      if (converts || rng.next() < 0.25) tCart = tVisit + 1 * MIN + rng.next() * 29 * MIN;
      if (converts) tConv = tCart + 1 * MIN + rng.next() * 59 * MIN;
    } else if (converts) {
      tConv = tVisit + 1 * MIN + rng.next() * 19 * MIN;
    }
    const last = Math.max(tVisit, tCart, tConv);
    const room = MS_PER_DAY - 1 - tc;
    const f = last > room ? room / last : 1;
    const at = (off: number): number => tc + Math.max(1, Math.floor(off * f));
    const ev = this.events;
    ev.push(at(tVisit), A_PAGE_VISIT, u, p, a, 0, funnel === 'commerce' ? p : -1, 0, -1);
    if (tCart >= 0) ev.push(at(tCart), A_ADD_TO_CART, u, p, a, 0, p, 0, -1);
    if (tConv >= 0) {
      const ts = at(tConv);
      if (funnel === 'commerce') {
        const qty = rng.next() < 0.2 ? 2 : 1;
        ev.push(ts, A_CHECKOUT, u, p, a, 0, p, this.world.productPriceCents[p] * qty, -1);
      } else {
        ev.push(ts, funnel === 'signup' ? A_SIGNUP : A_LEAD, u, p, a, 0, -1, 0, -1);
      }
      this.truth.conversions[ti]++;
      this.pendPin.push(p);
      this.pendTs.push(ts);
      this.pendTruth.push(ti);
    }
  }

  /** Offsite visits and purchases not driven by an ad click: they reveal intent and loyalty. */
  private organicFunnels(rng: SeededRandom, u: number): void {
    const w = this.world, ev = this.events;
    const iu = w.intent[u];
    const n = poisson(rng, w.config.organicRate * (0.15 + 3 * iu));
    for (let k = 0; k < n; k++) {
      let a = -1;
      const nLoyal = w.loyal.subarray(u * LOYAL_SLOTS, (u + 1) * LOYAL_SLOTS).reduce((s, x) => s + (x >= 0 ? 1 : 0), 0);
      if (nLoyal > 0 && rng.next() < 0.7) a = w.loyal[u * LOYAL_SLOTS + rng.int(nLoyal)];
      else {
        const c = w.interestCategory[u * INTEREST_SLOTS];
        const list = w.categoryAdvertisers[c];
        a = list.length > 0 ? list[rng.int(list.length)] : rng.int(w.config.advertisers);
      }
      const pins = w.advPins[a];
      const product = pins.length > 0 ? pins[rng.int(pins.length)] : -1;
      const funnel = VERTICALS[w.advVertical[a]].funnel;
      let t = Math.floor(rng.next() * (MS_PER_DAY - 2 * HOUR));
      ev.push(t, A_PAGE_VISIT, u, -1, a, 0, funnel === 'commerce' ? product : -1, 0, -1);
      if (funnel === 'commerce') {
        if (rng.next() < 0.2 + 0.6 * iu) {
          t += Math.floor(MIN + rng.next() * 29 * MIN);
          ev.push(t, A_ADD_TO_CART, u, -1, a, 0, product, 0, -1);
          if (rng.next() < 0.3 + 0.6 * iu) {
            t += Math.floor(MIN + rng.next() * 59 * MIN);
            ev.push(t, A_CHECKOUT, u, -1, a, 0, product, product >= 0 ? w.productPriceCents[product] : 0, -1);
          }
        }
      } else if (rng.next() < 0.15 + 0.6 * iu) {
        t += Math.floor(MIN + rng.next() * 19 * MIN);
        ev.push(t, funnel === 'signup' ? A_SIGNUP : A_LEAD, u, -1, a, 0, -1, 0, -1);
      }
    }
  }
}
