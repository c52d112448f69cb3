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

/** Writable stream wrapper that batches strings into large writes and honours backpressure. */
export class ChunkedWriter {
  private chunk = '';
  constructor(private readonly stream: NodeJS.WritableStream, private readonly chunkChars = 1 << 20) {}

  /** Appends text; returns true when the caller should `await flush()` (the chunk is full). */
  add(text: string): boolean {
    this.chunk += text;
    return this.chunk.length >= this.chunkChars;
  }

  async flush(): Promise<void> {
    if (this.chunk.length === 0) return;
    const c = this.chunk;
    this.chunk = '';
    if (!this.stream.write(c)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }

  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }
}
