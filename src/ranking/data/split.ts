/**
 * Time split, user histories and sparse-user flags. Evaluation is on the last N calendar days (UTC)
 * of the data; everything learned (tables, towers, pretraining facets, sparse flags) uses only the
 * days before.
 */
import { ImpressionColumns } from './impressions';

export const DAY_MS = 86_400_000;

export interface TimeSplit {
  evalDays: number;
  /** First millisecond of the evaluation days. */
  evalStart: number;
  /** Indices (into the time-sorted columns) of training and evaluation impressions. */
  train: Int32Array;
  eval: Int32Array;
}

export function timeSplit(cols: ImpressionColumns, evalDays: number): TimeSplit {
  if (!Number.isInteger(evalDays) || evalDays < 1) throw new Error(`--eval-days must be an integer ≥ 1, got ${evalDays}`);
  const first = cols.ts[0];
  const last = cols.ts[cols.n - 1];
  const lastDay = Math.floor(last / DAY_MS);
  const evalStart = (lastDay - evalDays + 1) * DAY_MS;
  const spanDays = lastDay - Math.floor(first / DAY_MS) + 1;
  if (first >= evalStart) {
    throw new Error(`${cols.source} spans ${spanDays} day(s) (${iso(first)} .. ${iso(last)}); --eval-days ${evalDays} leaves no training days`);
  }
  const train: number[] = [];
  const ev: number[] = [];
  for (let i = 0; i < cols.n; i++) (cols.ts[i] < evalStart ? train : ev).push(i);
  return { evalDays, evalStart, train: Int32Array.from(train), eval: Int32Array.from(ev) };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * For each impression, the pins the user clicked strictly before it, most recent first, up to
 * `length` (padding -1). Returns codes into cols.pins, [n × length].
 */
export function clickHistories(cols: ImpressionColumns, length: number): Int32Array {
  const out = new Int32Array(cols.n * length).fill(-1);
  if (length === 0) return out;
  const recent: Int32Array[] = new Array(cols.users.size);
  const count = new Int32Array(cols.users.size);
  let i = 0;
  while (i < cols.n) {
    // All impressions at one timestamp see the same history: none of their own clicks.
    let j = i;
    while (j + 1 < cols.n && cols.ts[j + 1] === cols.ts[i]) j++;
    for (let k = i; k <= j; k++) {
      const u = cols.user[k];
      const ring = recent[u];
      if (!ring) continue;
      const c = Math.min(count[u], length);
      for (let h = 0; h < c; h++) out[k * length + h] = ring[(count[u] - 1 - h) % length];
    }
    for (let k = i; k <= j; k++) {
      if (cols.click[k] !== 1) continue;
      const u = cols.user[k];
      const ring = (recent[u] ??= new Int32Array(length));
      ring[count[u] % length] = cols.pin[k];
      count[u]++;
    }
    i = j + 1;
  }
  return out;
}

/** Users with at most `threshold` training impressions (default 3): the sparse users of DESIGN §5. */
export function sparseUsers(cols: ImpressionColumns, train: Int32Array, threshold = 3): Uint8Array {
  const counts = new Int32Array(cols.users.size);
  for (const i of train) counts[cols.user[i]]++;
  const sparse = new Uint8Array(cols.users.size);
  for (let u = 0; u < counts.length; u++) sparse[u] = counts[u] <= threshold ? 1 : 0;
  return sparse;
}
