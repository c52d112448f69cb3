/**
 * Writes ASCII JSON lines straight into large Buffers (no per-line strings, little garbage) and hands
 * them to a stream, waiting for 'drain' when the stream is full. Numbers and timestamps are written
 * digit by digit.
 */

const DIGITS = new Uint8Array(24);
const C0 = 48;
const MAX_IN_FLIGHT = 3;

export class ByteSink {
  private buf: Buffer;
  private readonly pool: Buffer[] = [];
  private inFlight = 0;
  private waiter: (() => void) | null = null;
  pos = 0;

  /** `reserve` bytes stay free after a line; the longest line (an oversized corrupt id) must fit in it. */
  constructor(private readonly stream: NodeJS.WritableStream, private readonly size = 4 << 20, private readonly reserve = 64 << 10) {
    this.buf = Buffer.allocUnsafe(size);
    // A failed write (disk full, closed pipe) surfaces at the next flush instead of crashing the process.
    stream.on('error', (e: Error) => (this.error ??= e));
  }

  private error: Error | undefined;

  /** True when the buffer should be flushed before the next line. */
  get full(): boolean {
    return this.pos > this.size - this.reserve;
  }

  /** Raw bytes (precomputed fragments). */
  bytes(b: Uint8Array): void {
    const n = b.length, buf = this.buf;
    let p = this.pos;
    if (n > 16) {
      buf.set(b, p);
      p += n;
    } else {
      for (let i = 0; i < n; i++) buf[p++] = b[i];
    }
    this.pos = p;
  }

  /** A Latin-1/ASCII string (ids and JSON that are only known at run time). */
  ascii(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** A non-negative integer (< 2^53). */
  uint(n: number): void {
    if (n < 10) {
      this.buf[this.pos++] = C0 + n;
      return;
    }
    let k = 0;
    while (n > 0) {
      const q = Math.floor(n / 10);
      DIGITS[k++] = C0 + (n - q * 10);
      n = q;
    }
    const buf = this.buf;
    let p = this.pos;
    while (k > 0) buf[p++] = DIGITS[--k];
    this.pos = p;
  }

  /** A number of micro-units in [0, 1e6] as a JSON decimal: 13519 → 0.013519, 0 → 0. */
  micros(m: number): void {
    if (m === 0) return this.byte(C0);
    if (m >= 1e6) return this.uint(m / 1e6);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = C0;
    buf[p++] = 46; // '.'
    let div = 100000, last = p;
    while (div >= 1) {
      const d = Math.floor(m / div);
      m -= d * div;
      buf[p++] = C0 + d;
      if (d !== 0) last = p;
      div /= 10;
    }
    this.pos = last;
  }

  /** Cents as a JSON decimal: 4599 → 45.99, 4590 → 45.9, 4500 → 45. */
  cents(c: number): void {
    const whole = Math.floor(c / 100), frac = c - whole * 100;
    this.uint(whole);
    if (frac === 0) return;
    this.byte(46);
    this.byte(C0 + Math.floor(frac / 10));
    if (frac % 10 !== 0) this.byte(C0 + (frac % 10));
  }

  /** Two digits, zero-padded. */
  two(n: number): void {
    const t = Math.floor(n / 10);
    this.buf[this.pos++] = C0 + t;
    this.buf[this.pos++] = C0 + (n - t * 10);
  }

  /** Time of day "HH:MM:SS.mmmZ" from milliseconds into the day. */
  timeOfDay(msInDay: number): void {
    const ms = msInDay % 1000;
    let s = (msInDay - ms) / 1000;
    const sec = s % 60;
    s = (s - sec) / 60;
    const min = s % 60;
    this.two((s - min) / 60);
    this.byte(58);
    this.two(min);
    this.byte(58);
    this.two(sec);
    this.byte(46);
    this.byte(C0 + Math.floor(ms / 100));
    this.two(ms % 100);
    this.byte(90); // 'Z'
  }

  /** The text written since `start` (to copy a line for corruption). */
  textSince(start: number): string {
    return this.buf.toString('latin1', start, this.pos);
  }

  /**
   * Hands the filled buffer to the stream and continues in a free one. At most MAX_IN_FLIGHT buffers wait
   * in the stream (that is the backpressure); a written buffer returns to the pool, since reusing its
   * pages is cheaper than faulting in new ones.
   */
  async flush(): Promise<void> {
    if (this.error) throw this.error;
    if (this.pos === 0) return;
    const full = this.buf;
    this.inFlight++;
    this.stream.write(full.subarray(0, this.pos), (err) => {
      if (err) this.error ??= err;
      this.inFlight--;
      this.pool.push(full);
      const wake = this.waiter;
      this.waiter = null;
      wake?.();
    });
    this.pos = 0;
    while (this.pool.length === 0 && this.inFlight >= MAX_IN_FLIGHT && !this.error) await new Promise<void>((r) => (this.waiter = r));
    if (this.error) throw this.error;
    this.buf = this.pool.pop() ?? Buffer.allocUnsafe(this.size);
  }

  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.stream.once('error', reject);
      this.stream.end(() => (this.error ? reject(this.error) : resolve()));
    });
  }
}

/** A string as bytes, for fragments written on every line. */
export function latin1(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
