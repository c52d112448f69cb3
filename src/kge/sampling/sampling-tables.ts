/** The data every sampler needs, computed once by JS and handed to the backends (backend.ts, SamplingTables). */
import type { EntityEntry, TripleArrays } from '../../common/triple-set';
import type { SamplingTables } from '../backends/backend';

/**
 * Bernoulli head-corruption probability per relation (Wang et al. 2014): tph/(tph+hpt), with
 * tph = triples/distinct heads and hpt = triples/distinct tails. Relations absent from train get 0.5.
 */
export function bernoulliHeadProb(train: TripleArrays, numRelations: number): Float64Array {
  const count = new Float64Array(numRelations);
  const heads = new Map<number, Set<number>>();
  const tails = new Map<number, Set<number>>();
  for (let i = 0; i < train.heads.length; i++) {
    const r = train.relations[i];
    count[r]++;
    if (!heads.has(r)) {
      heads.set(r, new Set());
      tails.set(r, new Set());
    }
    heads.get(r)!.add(train.heads[i]);
    tails.get(r)!.add(train.tails[i]);
  }
  const p = new Float64Array(numRelations).fill(0.5);
  for (let r = 0; r < numRelations; r++) {
    if (!count[r]) continue;
    const tph = count[r] / heads.get(r)!.size;
    const hpt = count[r] / tails.get(r)!.size;
    p[r] = tph / (tph + hpt);
  }
  return p;
}

/** Type indices of entities: types in order of first appearance; members ascending within a type. */
export function entityTypeTables(entities: readonly EntityEntry[]): { typeNames: string[]; entityType: Int32Array; typeOffsets: Int32Array; typeMembers: Int32Array } {
  const typeIndex = new Map<string, number>();
  const typeNames: string[] = [];
  const entityType = new Int32Array(entities.length);
  entities.forEach((e, i) => {
    let t = typeIndex.get(e.type);
    if (t === undefined) {
      t = typeNames.length;
      typeIndex.set(e.type, t);
      typeNames.push(e.type);
    }
    entityType[i] = t;
  });
  const typeOffsets = new Int32Array(typeNames.length + 1);
  for (let i = 0; i < entityType.length; i++) typeOffsets[entityType[i] + 1]++;
  for (let t = 0; t < typeNames.length; t++) typeOffsets[t + 1] += typeOffsets[t];
  const fill = typeOffsets.slice(0, typeNames.length);
  const typeMembers = new Int32Array(entities.length);
  for (let i = 0; i < entityType.length; i++) typeMembers[fill[entityType[i]]++] = i;
  return { typeNames, entityType, typeOffsets, typeMembers };
}

export function buildSamplingTables(train: TripleArrays, entities: readonly EntityEntry[], numRelations: number): SamplingTables {
  const { entityType, typeOffsets, typeMembers } = entityTypeTables(entities);
  return { headProb: bernoulliHeadProb(train, numRelations), entityType, typeOffsets, typeMembers };
}
