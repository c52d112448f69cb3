/** Parameters of a simulated world, their defaults (a quick demo) and their checks. */

export interface SimConfig {
  users: number;
  pins: number;
  advertisers: number;
  categories: number;
  days: number;
  seed: number;
  /** ISO date (YYYY-MM-DD, UTC) of day 0. */
  start: string;
  /** Share of users who consented to offsite tracking; only they have offsite events. */
  optInShare: number;
  /** Share of users with 1–3 impressions over the whole run. */
  sparseShare: number;
  /** Mean impressions over the run of a user who is not sparse (heavy-tailed, lognormal). */
  impressionsPerUser: number;
  /** Share of feed impressions targeted at one of the user's interest categories (search is always targeted). */
  targetedShare: number;
  /** Share of pins launched after day 0 (fresh ads), uniformly over days 1..days-1. */
  freshPinShare: number;
  /** Organic offsite funnels per opt-in user per day, scaled by (0.15 + 3·intent). */
  organicRate: number;
  /** Rate of injected corrupt lines per event line; 0 for none. */
  corruptRate: number;
}

export const DEFAULT_SIM_CONFIG: SimConfig = {
  users: 2000,
  pins: 500,
  advertisers: 50,
  categories: 20,
  days: 14,
  seed: 1,
  start: '2026-01-01',
  optInShare: 0.6,
  sparseShare: 0.5,
  impressionsPerUser: 180,
  targetedShare: 0.6,
  freshPinShare: 0.2,
  organicRate: 0.5,
  corruptRate: 0,
};

/** Conversions are attributed to a click on the same pin by the same user at most this many days later. */
export const ATTRIBUTION_WINDOW_DAYS = 1;

export const ATTRIBUTION_RULE =
  'An offsite checkout|signup|lead with the same userId, advertiserId and pinId as a click, at most ' +
  'attributionWindowDays after it, is attributed to the latest such click (last click). Organic offsite ' +
  'events carry no pinId and are never attributed. Click-driven funnels finish on the day of the click.';

export const P_CONVERT_MEANING =
  'pConvert is the true probability that a click on this impression yields a recorded (consented, attributed) ' +
  'conversion; it is 0 for users who did not opt in, whose conversions are never observed.';

export class SimConfigError extends Error {
  override name = 'SimConfigError';
}

/** Fills defaults and rejects values that would make a broken world, naming the parameter. */
export function resolveSimConfig(partial: Partial<SimConfig>): SimConfig {
  const c: SimConfig = { ...DEFAULT_SIM_CONFIG };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  const positiveInt: (keyof SimConfig)[] = ['users', 'pins', 'advertisers', 'categories', 'days'];
  for (const k of positiveInt) {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new SimConfigError(`${k} must be an integer ≥ 1, got ${v}`);
  }
  if (c.categories > 30000) throw new SimConfigError(`categories must be ≤ 30000, got ${c.categories}`);
  if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed > 0xffffffff) throw new SimConfigError(`seed must be an integer in [0, 2^32), got ${c.seed}`);
  const shares: (keyof SimConfig)[] = ['optInShare', 'sparseShare', 'targetedShare', 'freshPinShare', 'corruptRate'];
  for (const k of shares) {
    const v = c[k] as number;
    if (!Number.isFinite(v) || v < 0 || v > 1) throw new SimConfigError(`${k} must be in [0, 1], got ${v}`);
  }
  if (!(c.impressionsPerUser >= 5)) throw new SimConfigError(`impressionsPerUser must be ≥ 5, got ${c.impressionsPerUser}`);
  if (!(c.organicRate >= 0) || !Number.isFinite(c.organicRate)) throw new SimConfigError(`organicRate must be ≥ 0, got ${c.organicRate}`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(c.start) || Number.isNaN(Date.parse(`${c.start}T00:00:00Z`))) {
    throw new SimConfigError(`start must be an ISO date YYYY-MM-DD, got "${c.start}"`);
  }
  return c;
}
