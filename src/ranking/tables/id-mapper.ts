/**
 * IdMapper: string id → table row. Exact (one row per id, in order of first sight) while the id
 * space fits the table; hashed (row = hash(id) mod rows, collisions shared) when it does not.
 */
import { hash32 } from '../../common/rng';

/** FNV-1a over UTF-16 code units, then the project's integer hash for avalanche. */
export function hashString(s: string, seed = 0): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return hash32(h);
}

export class IdMapper {
  readonly mode: 'exact' | 'hash';
  private readonly index = new Map<string, number>();
  /** Rows of the table that backs this mapper. */
  readonly rows: number;

  /**
   * Builds a mapper for `ids` into a table of at most `capacity` rows (default: one row per id). `seed` is
   * hashString's, for ids hashed into the table (hash mode, or ids unseen in exact mode).
   */
  constructor(ids: Iterable<string>, capacity?: number, readonly seed = 0x5eed) {
    const distinct = new Set(ids);
    const cap = capacity ?? Math.max(1, distinct.size);
    if (!Number.isInteger(cap) || cap <= 0) throw new Error(`IdMapper: capacity must be a positive integer, got ${capacity}`);
    if (distinct.size <= cap) {
      this.mode = 'exact';
      for (const id of distinct) this.index.set(id, this.index.size);
      this.rows = Math.max(1, capacity ?? distinct.size);
    } else {
      this.mode = 'hash';
      this.rows = cap;
    }
  }

  get size(): number {
    return this.mode === 'exact' ? this.index.size : this.rows;
  }

  /** Row of `id`; ids unseen by an exact mapper fall back to hashing into the table. */
  row(id: string): number {
    if (this.mode === 'exact') {
      const r = this.index.get(id);
      if (r !== undefined) return r;
    }
    return hashString(id, this.seed) % this.rows;
  }

  /** Ids that own a row exactly (exact mode); empty in hash mode. */
  entries(): IterableIterator<[string, number]> {
    return this.index.entries();
  }
}
