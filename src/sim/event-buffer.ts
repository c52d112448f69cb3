/**
 * One day's events as growable typed columns, sorted by time with a stable two-pass radix sort, so
 * a day of millions of events needs no objects and no comparator calls.
 */

/** Action codes: onsite first, then offsite. */
export const ACTIONS = ['impression', 'click', 'save', 'closeup', 'hide', 'page_visit', 'add_to_cart', 'checkout', 'signup', 'lead'] as const;
export type ActionName = (typeof ACTIONS)[number];
export const A_IMPRESSION = 0, A_CLICK = 1, A_SAVE = 2, A_CLOSEUP = 3, A_HIDE = 4;
export const A_PAGE_VISIT = 5, A_ADD_TO_CART = 6, A_CHECKOUT = 7, A_SIGNUP = 8, A_LEAD = 9;
export const FIRST_OFFSITE = A_PAGE_VISIT;

export const SURFACES = ['home_feed', 'search', 'related'] as const;

export const MS_PER_DAY = 86_400_000;

export class EventBuffer {
  length = 0;
  /** Milliseconds since the start of the day, < MS_PER_DAY (fits 27 bits). */
  msInDay = new Int32Array(0);
  action = new Uint8Array(0);
  surface = new Uint8Array(0);
  user = new Int32Array(0);
  pin = new Int32Array(0);
  advertiser = new Int32Array(0);
  /** Product = pin index of the promoted product, -1 none. */
  product = new Int32Array(0);
  valueCents = new Int32Array(0);
  /** Index of this impression's truth record, -1 for other events. */
  truth = new Int32Array(0);
  private order = new Uint32Array(0);
  private scratch = new Uint32Array(0);

  constructor(capacity = 1 << 16) {
    this.grow(capacity);
  }

  private grow(capacity: number): void {
    const g = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a.subarray(0, this.length) as never);
      return b;
    };
    this.msInDay = g(this.msInDay, (n) => new Int32Array(n));
    this.action = g(this.action, (n) => new Uint8Array(n));
    this.surface = g(this.surface, (n) => new Uint8Array(n));
    this.user = g(this.user, (n) => new Int32Array(n));
    this.pin = g(this.pin, (n) => new Int32Array(n));
    this.advertiser = g(this.advertiser, (n) => new Int32Array(n));
    this.product = g(this.product, (n) => new Int32Array(n));
    this.valueCents = g(this.valueCents, (n) => new Int32Array(n));
    this.truth = g(this.truth, (n) => new Int32Array(n));
  }

  clear(): void {
    this.length = 0;
  }

  push(msInDay: number, action: number, user: number, pin: number, advertiser: number, surface: number, product: number, valueCents: number, truth: number): void {
    if (this.length === this.msInDay.length) this.grow(this.length * 2);
    const i = this.length++;
    this.msInDay[i] = msInDay;
    this.action[i] = action;
    this.user[i] = user;
    this.pin[i] = pin;
    this.advertiser[i] = advertiser;
    this.surface[i] = surface;
    this.product[i] = product;
    this.valueCents[i] = valueCents;
    this.truth[i] = truth;
  }

  /** Event indexes in time order; ties keep insertion order (stable LSD radix on 14 + 13 bits). */
  sortedOrder(): Uint32Array {
    const n = this.length;
    if (this.order.length < n) {
      this.order = new Uint32Array(this.msInDay.length);
      this.scratch = new Uint32Array(this.msInDay.length);
    }
    const src = this.scratch, dst = this.order, key = this.msInDay;
    const lowCount = new Uint32Array(1 << 14), highCount = new Uint32Array(1 << 13);
    for (let i = 0; i < n; i++) {
      const k = key[i];
      lowCount[k & 0x3fff]++;
      highCount[k >>> 14]++;
    }
    let s = 0;
    for (let b = 0; b < lowCount.length; b++) { const c = lowCount[b]; lowCount[b] = s; s += c; }
    s = 0;
    for (let b = 0; b < highCount.length; b++) { const c = highCount[b]; highCount[b] = s; s += c; }
    for (let i = 0; i < n; i++) src[lowCount[key[i] & 0x3fff]++] = i;
    for (let j = 0; j < n; j++) { const i = src[j]; dst[highCount[key[i] >>> 14]++] = i; }
    return dst.subarray(0, n);
  }
}
