/**
 * AnchorIndex: the anchors of a TransRA model (DESIGN §4), chosen from the graph by
 * `src/graph/algorithms/anchor-selection.ts` and handed to kge as plain data (kge never imports
 * graph). It is saved with the model (checkpoint and export).
 *
 * Anchor slot a (0 ≤ a < anchors.length) is entity `anchors[a]`. Each entity e has up to `k` anchors,
 * nearest first: `anchorOf[e*k + i]` is an anchor slot or -1 (no anchor in that position; slots after
 * a -1 are -1 too), and `hops[e*k + i]` the hop distance from e to that anchor (0 when e is the
 * anchor itself), -1 where anchorOf is -1.
 */
export interface AnchorIndex {
  /** Number of entities the index covers (rows of anchorOf / hops). */
  numEntities: number;
  /** Anchors per entity (K). */
  k: number;
  /** Entity id of each anchor slot, length A. */
  anchors: Int32Array;
  /** numEntities × k anchor slots, nearest first, -1 padded. */
  anchorOf: Int32Array;
  /** numEntities × k hop distances, -1 padded. */
  hops: Int32Array;
  /** How the anchors were chosen, for the manifest. */
  selection: AnchorSelectionInfo;
}

export interface AnchorSelectionInfo {
  /** Node types whose every entity is an anchor (e.g. ["Advertiser", "Category"]). */
  byType: string[];
  /** Number of highest-degree entities added as anchors. */
  byDegree: number;
  /** Largest BFS depth searched for each entity's anchors (entities farther away get fewer than k). */
  maxHops: number;
}

/** Checks shapes and ranges; throws an error naming the first problem. */
export function validateAnchorIndex(index: AnchorIndex, numEntities?: number): void {
  const { k, anchors, anchorOf, hops } = index;
  const n = index.numEntities;
  if (numEntities !== undefined && n !== numEntities) {
    throw new Error(`AnchorIndex covers ${n} entities but the model has ${numEntities}`);
  }
  if (!Number.isInteger(k) || k < 1) throw new Error(`AnchorIndex.k must be a positive integer, got ${k}`);
  if (anchorOf.length !== n * k) throw new Error(`AnchorIndex.anchorOf has length ${anchorOf.length}, expected ${n}×${k}`);
  if (hops.length !== n * k) throw new Error(`AnchorIndex.hops has length ${hops.length}, expected ${n}×${k}`);
  for (let a = 0; a < anchors.length; a++) {
    if (anchors[a] < 0 || anchors[a] >= n) throw new Error(`AnchorIndex.anchors[${a}] = ${anchors[a]} is not an entity id (0..${n - 1})`);
  }
  for (let i = 0; i < anchorOf.length; i++) {
    const a = anchorOf[i];
    if (a < -1 || a >= anchors.length) throw new Error(`AnchorIndex.anchorOf[${i}] = ${a} is not an anchor slot (0..${anchors.length - 1}) or -1`);
    if ((a === -1) !== (hops[i] === -1)) throw new Error(`AnchorIndex.hops[${i}] = ${hops[i]} disagrees with anchorOf[${i}] = ${a}`);
  }
}
