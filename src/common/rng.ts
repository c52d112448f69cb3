/**
 * Counter-based random numbers: value = hash(seed, stream, counter). The same numbers come out in any
 * order and on any thread, so the js, native and cuda backends can draw identical negatives.
 * The hash is "lowbias32" (Chris Wellons' integer hash), applied twice; it is written the same way in
 * C++ (uint32 arithmetic). Keep the two in step.
 */
export function hash32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Uniform uint32 for (seed, stream, counter). */
export function counterUint32(seed: number, stream: number, counter: number): number {
  return hash32(hash32(hash32(seed ^ 0x9e3779b9) ^ stream) ^ counter);
}

/** Uniform integer in [0, n) for (seed, stream, counter); n ≤ 2^32. Multiply-shift, no modulo bias worth noting for n ≪ 2^32. */
export function counterInt(seed: number, stream: number, counter: number, n: number): number {
  return Math.floor((counterUint32(seed, stream, counter) / 4294967296) * n);
}

/** Uniform float in [0, 1). */
export function counterFloat(seed: number, stream: number, counter: number): number {
  return counterUint32(seed, stream, counter) / 4294967296;
}

/** A small sequential seeded generator (mulberry32) for places that need a stream, not random access. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x6d2b79f5;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }
}
