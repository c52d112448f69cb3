/**
 * Deterministic (seeded) splits of a training set: valid/test carved out of train for graphs that
 * have only train (snapshots), and the inductive split of TransRA's evaluation.
 */
import type { TripleArrays } from '../../common/triple-set';
import { epochPermutation } from '../sampling/epoch-order';

function pick(t: TripleArrays, idx: ArrayLike<number>): TripleArrays {
  return {
    heads: Int32Array.from(idx, (i) => t.heads[i]),
    relations: Int32Array.from(idx, (i) => t.relations[i]),
    tails: Int32Array.from(idx, (i) => t.tails[i]),
  };
}

/**
 * Moves about `validFraction` and `testFraction` of the triples out of train, in a seeded order,
 * taking a triple only while its head, tail and relation keep at least one training triple (so no
 * evaluated entity is untrained).
 */
export function splitTrainValidTest(
  all: TripleArrays, numEntities: number, numRelations: number, seed: number, validFraction = 0.05, testFraction = 0.05,
): { train: TripleArrays; valid: TripleArrays; test: TripleArrays } {
  const n = all.heads.length;
  const entCount = new Int32Array(numEntities), relCount = new Int32Array(numRelations);
  for (let i = 0; i < n; i++) {
    entCount[all.heads[i]]++;
    entCount[all.tails[i]]++;
    relCount[all.relations[i]]++;
  }
  const wantValid = Math.floor(n * validFraction), wantTest = Math.floor(n * testFraction);
  const perm = epochPermutation(n, seed ^ 0x2545f491, 0);
  const where = new Uint8Array(n); // 0 train, 1 valid, 2 test
  let nv = 0, nt = 0;
  for (let p = 0; p < n && (nv < wantValid || nt < wantTest); p++) {
    const i = perm[p];
    const h = all.heads[i], t = all.tails[i], r = all.relations[i];
    const need = h === t ? 2 : 1;
    if (entCount[h] <= need || entCount[t] <= need || relCount[r] <= 1) continue;
    entCount[h]--;
    entCount[t]--;
    relCount[r]--;
    if (nv < wantValid) {
      where[i] = 1;
      nv++;
    } else {
      where[i] = 2;
      nt++;
    }
  }
  const idx: number[][] = [[], [], []];
  for (let i = 0; i < n; i++) idx[where[i]].push(i);
  return { train: pick(all, idx[0]), valid: pick(all, idx[1]), test: pick(all, idx[2]) };
}

export interface InductiveSplit {
  /** Triples with no held-out entity. */
  train: TripleArrays;
  /** Triples of held-out entities known at inference time (used only to find their anchors). */
  support: TripleArrays;
  /** Triples of held-out entities to predict (the other end is a training entity). */
  query: TripleArrays;
  heldOut: Int32Array;
  /** 1 for held-out entities. */
  isHeldOut: Uint8Array;
}

/**
 * Holds `fraction` of the entities with degree ≥ 2 out of training entirely. Each held-out entity's
 * triples to training entities are split in a seeded order: the first half (at least one) become
 * support, the rest queries; triples between two held-out entities are dropped.
 */
export function inductiveSplit(all: TripleArrays, numEntities: number, fraction: number, seed: number): InductiveSplit {
  const n = all.heads.length;
  const degree = new Int32Array(numEntities);
  for (let i = 0; i < n; i++) {
    degree[all.heads[i]]++;
    degree[all.tails[i]]++;
  }
  const order = epochPermutation(numEntities, seed ^ 0x68e31da4, 0);
  const eligible = Array.from(order).filter((e) => degree[e] >= 2);
  const heldOut = Int32Array.from(eligible.slice(0, Math.max(1, Math.round(eligible.length * fraction)))).sort();
  const isHeldOut = new Uint8Array(numEntities);
  for (const e of heldOut) isHeldOut[e] = 1;
  const trainIdx: number[] = [];
  const byEntity = new Map<number, number[]>();
  const perm = epochPermutation(n, seed ^ 0x1b873593, 0);
  for (let p = 0; p < n; p++) {
    const i = perm[p];
    const h = all.heads[i], t = all.tails[i];
    const hh = isHeldOut[h], th = isHeldOut[t];
    if (!hh && !th) trainIdx.push(i);
    else if (hh !== th) {
      const e = hh ? h : t;
      let l = byEntity.get(e);
      if (!l) byEntity.set(e, (l = []));
      l.push(i);
    }
  }
  trainIdx.sort((a, b) => a - b);
  const train = pick(all, trainIdx);
  const inTrain = new Uint8Array(numEntities);
  for (let i = 0; i < train.heads.length; i++) {
    inTrain[train.heads[i]] = 1;
    inTrain[train.tails[i]] = 1;
  }
  const supportIdx: number[] = [], queryIdx: number[] = [];
  for (const e of heldOut) {
    const l = byEntity.get(e) ?? [];
    const nSupport = Math.max(1, Math.ceil(l.length / 2));
    l.forEach((i, j) => {
      if (j < nSupport) supportIdx.push(i);
      else {
        const other = all.heads[i] === e ? all.tails[i] : all.heads[i];
        if (inTrain[other]) queryIdx.push(i);
      }
    });
  }
  return { train, support: pick(all, supportIdx), query: pick(all, queryIdx), heldOut, isHeldOut };
}
