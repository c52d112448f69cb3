/** Known true triples for filtered ranking: (h, r) → tails and (r, t) → heads over the given splits. */
import type { TripleArrays } from '../../common/triple-set';

export class FilterIndex {
  private readonly tails = new Map<number, Int32Array>();
  private readonly heads = new Map<number, Int32Array>();
  private readonly numRelations: number;

  constructor(splits: readonly TripleArrays[], numRelations: number) {
    this.numRelations = numRelations;
    const tails = new Map<number, number[]>();
    const heads = new Map<number, number[]>();
    for (const s of splits) {
      for (let i = 0; i < s.heads.length; i++) {
        const h = s.heads[i], r = s.relations[i], t = s.tails[i];
        push(tails, h * numRelations + r, t);
        push(heads, t * numRelations + r, h);
      }
    }
    for (const [key, l] of tails) this.tails.set(key, Int32Array.from(new Set(l)));
    for (const [key, l] of heads) this.heads.set(key, Int32Array.from(new Set(l)));
  }

  /** Every t with (h, r, t) known. */
  knownTails(h: number, r: number): Int32Array {
    return this.tails.get(h * this.numRelations + r) ?? EMPTY;
  }

  /** Every h with (h, r, t) known. */
  knownHeads(r: number, t: number): Int32Array {
    return this.heads.get(t * this.numRelations + r) ?? EMPTY;
  }
}

const EMPTY = new Int32Array(0);

function push(m: Map<number, number[]>, key: number, v: number): void {
  const l = m.get(key);
  if (l) l.push(v);
  else m.set(key, [v]);
}
