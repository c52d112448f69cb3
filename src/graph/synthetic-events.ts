/**
 * A small deterministic generator of contract-conforming event lines (catalog first, then interactions),
 * for benchmarks and tests that need many events without the full simulator. Same options, same lines.
 */
import { createWriteStream } from 'fs';
import { once } from 'events';
import { counterFloat, counterInt } from '../common/rng';
import { OFFSITE_ACTIONS, OnsiteAction } from './schema';

export interface SyntheticEventOptions {
  /** interaction events (catalog lines come on top) */
  events: number;
  seed?: number;
  users?: number;
  pins?: number;
  advertisers?: number;
  categories?: number;
  /** first event time, epoch ms */
  startMs?: number;
  /** events are spread evenly over this many ms */
  spanMs?: number;
  /** share of offsite events */
  offsiteShare?: number;
  /** share of offsite events without consent */
  noConsentShare?: number;
  /** share of events that repeat an earlier eventId */
  duplicateShare?: number;
  /** share of lines that break the contract */
  invalidShare?: number;
  /** eventIds are `${eventIdPrefix}${n}`; a different prefix gives new events for the same users and pins */
  eventIdPrefix?: string;
}

/** Impressions dominate, as in real ad logs. */
const ONSITE_WEIGHTS: [OnsiteAction, number][] = [['impression', 0.7], ['click', 0.12], ['closeup', 0.08], ['save', 0.06], ['hide', 0.04]];

function onsiteAction(x: number): OnsiteAction {
  for (const [a, w] of ONSITE_WEIGHTS) {
    if (x < w) return a;
    x -= w;
  }
  return 'impression';
}

const STREAM = { user: 1, pin: 2, kind: 3, action: 4, product: 5, consent: 6, dup: 7, invalid: 8, cat: 9, adv: 10, organic: 11 };

export function* syntheticEventLines(o: SyntheticEventOptions): Generator<string> {
  const seed = o.seed ?? 1;
  const users = o.users ?? Math.max(10, Math.floor(o.events / 20));
  const pins = o.pins ?? Math.max(5, Math.floor(o.events / 200));
  const advertisers = o.advertisers ?? Math.max(2, Math.floor(pins / 20));
  const categories = o.categories ?? 24;
  const start = o.startMs ?? Date.UTC(2026, 0, 1);
  const span = o.spanMs ?? 30 * 86400000;
  const offsiteShare = o.offsiteShare ?? 0.15;
  const noConsentShare = o.noConsentShare ?? 0.1;
  const duplicateShare = o.duplicateShare ?? 0.01;
  const invalidShare = o.invalidShare ?? 0.001;
  const ev = o.eventIdPrefix ?? 'ev';

  for (let a = 0; a < advertisers; a++) yield JSON.stringify({ kind: 'advertiser', advertiserId: `a${a}`, vertical: `v${a % 7}` });
  const advertiserOf = (p: number) => counterInt(seed, STREAM.adv, p, advertisers);
  for (let p = 0; p < pins; p++) {
    yield JSON.stringify({ kind: 'pin', pinId: `p${p}`, advertiserId: `a${advertiserOf(p)}`, category: `c${counterInt(seed, STREAM.cat, p, categories)}` });
  }
  for (let i = 0; i < o.events; i++) {
    const ts = start + Math.floor((i * span) / Math.max(1, o.events));
    if (counterFloat(seed, STREAM.invalid, i) < invalidShare) {
      yield JSON.stringify({ eventId: `${ev}${i}`, ts, kind: 'onsite', userId: `u${i % users}`, action: 'click' }); // no pinId
      continue;
    }
    // A duplicate repeats an earlier event line exactly: the same eventId must change nothing.
    const n = i > 0 && counterFloat(seed, STREAM.dup, i) < duplicateShare ? counterInt(seed, STREAM.dup + 100, i, i) : i;
    const nts = start + Math.floor((n * span) / Math.max(1, o.events));
    // Skewed user and pin popularity (squared uniform) gives hubs, as real logs have.
    const u = Math.floor(counterFloat(seed, STREAM.user, n) ** 2 * users);
    const p = Math.floor(counterFloat(seed, STREAM.pin, n) ** 2 * pins);
    if (counterFloat(seed, STREAM.kind, n) < offsiteShare) {
      const action = OFFSITE_ACTIONS[counterInt(seed, STREAM.action, n, OFFSITE_ACTIONS.length)];
      const withProduct = action === 'add_to_cart' || action === 'checkout';
      yield JSON.stringify({
        eventId: `${ev}${n}`,
        ts: new Date(nts).toISOString(),
        kind: 'offsite',
        userId: `u${u}`,
        advertiserId: `a${advertiserOf(p)}`,
        action,
        ...(withProduct ? { productId: `sku${counterInt(seed, STREAM.product, n, pins * 3)}` } : {}),
        // A third come organically (no ad pin), the rest after an ad click on the pin, as in real offsite logs.
        ...(counterFloat(seed, STREAM.organic, n) < 1 / 3 ? {} : { pinId: `p${p}` }),
        ...(action === 'checkout' ? { value: Math.round(counterFloat(seed, STREAM.product + 100, n) * 20000) / 100, currency: 'USD' } : {}),
        consent: counterFloat(seed, STREAM.consent, n) >= noConsentShare,
      });
    } else {
      yield JSON.stringify({
        eventId: `${ev}${n}`,
        ts: nts,
        kind: 'onsite',
        userId: `u${u}`,
        pinId: `p${p}`,
        advertiserId: `a${advertiserOf(p)}`,
        action: onsiteAction(counterFloat(seed, STREAM.action, n)),
        surface: n % 3 === 0 ? 'search' : 'home_feed',
      });
    }
  }
}

/** Writes the generator's lines to a JSONL file, streaming; returns the number of lines. */
export async function writeSyntheticEventFile(file: string, o: SyntheticEventOptions): Promise<number> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  let lines = 0;
  let chunk = '';
  for (const line of syntheticEventLines(o)) {
    chunk += line + '\n';
    lines++;
    if (chunk.length >= 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return lines;
}
