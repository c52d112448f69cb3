/**
 * The order in which an epoch visits the training triples. Counter-based on (seed, epoch), so a run
 * resumed at epoch e visits exactly what an uninterrupted run would.
 */
import { counterInt } from '../../common/rng';
import { negativeStream, RNG_PURPOSE } from '../backends/backend';

/** A seeded permutation of 0..n-1 for this epoch (Fisher–Yates with counter draws). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const stream = negativeStream(epoch, RNG_PURPOSE.SHUFFLE);
  for (let i = n - 1; i > 0; i--) {
    const j = counterInt(seed, stream, i, i + 1);
    const tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
  return perm;
}

/**
 * For shared negatives: chunks of `chunkSize` triples of one relation, in a seeded order; the
 * leftovers of every relation (fewer than a chunk) fill mixed chunks at the end. With batches a
 * multiple of chunkSize, every chunk a backend cuts from a batch is one of these.
 */
export function relationChunkedOrder(relations: Int32Array, chunkSize: number, seed: number, epoch: number): Int32Array {
  const n = relations.length;
  const perm = epochPermutation(n, seed, epoch);
  const byRelation = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const idx = perm[i];
    const r = relations[idx];
    let list = byRelation.get(r);
    if (!list) byRelation.set(r, (list = []));
    list.push(idx);
  }
  const chunks: number[][] = [];
  const leftovers: number[] = [];
  for (const r of [...byRelation.keys()].sort((a, b) => a - b)) {
    const list = byRelation.get(r)!;
    const full = list.length - (list.length % chunkSize);
    for (let s = 0; s < full; s += chunkSize) chunks.push(list.slice(s, s + chunkSize));
    for (let s = full; s < list.length; s++) leftovers.push(list[s]);
  }
  const chunkOrder = epochPermutation(chunks.length, seed ^ 0x5bd1e995, epoch);
  const out = new Int32Array(n);
  let o = 0;
  for (let c = 0; c < chunks.length; c++) for (const idx of chunks[chunkOrder[c]]) out[o++] = idx;
  for (const idx of leftovers) out[o++] = idx;
  return out;
}
