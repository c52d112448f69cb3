/** Fast, allocation-light pieces of the output lines. */

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => (i < 10 ? '00' : i < 100 ? '0' : '') + i);

/** "YYYY-MM-DDT" of the UTC day that starts at dayStartMs. */
export function isoDayPrefix(dayStartMs: number): string {
  return new Date(dayStartMs).toISOString().slice(0, 11);
}

/** ISO-8601 UTC timestamp from a day prefix and milliseconds into that day (same text as Date.toISOString). */
export function isoTime(prefix: string, msInDay: number): string {
  const ms = msInDay % 1000;
  let s = (msInDay - ms) / 1000;
  const sec = s % 60;
  s = (s - sec) / 60;
  const min = s % 60;
  const hour = (s - min) / 60;
  return prefix + PAD2[hour] + ':' + PAD2[min] + ':' + PAD2[sec] + '.' + PAD3[ms] + 'Z';
}
