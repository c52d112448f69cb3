/**
 * Anchor selection for TransRA (DESIGN §4): anchors are every entity of the chosen node types (by
 * default Advertiser and Category) plus the highest-degree entities; each entity then gets its K
 * nearest anchors by hops, found by one multi-source BFS over the graph of the triples (graphology).
 * The result is a plain AnchorIndex that the CLI hands to kge (kge never imports graph).
 */
import { UndirectedGraph } from 'graphology';
import type { AnchorIndex } from '../../common/anchor-index';
import type { EntityEntry, TripleArrays } from '../../common/triple-set';

export interface AnchorSelectionOptions {
  /** Node types whose every entity is an anchor. Default ["Advertiser", "Category"]. */
  byType?: string[];
  /** How many highest-degree entities to add. Default clamp(round(√N), 8, 1024). */
  byDegree?: number;
  /** Anchors per entity (K). Default 8. */
  k?: number;
  /** Deepest BFS level searched; farther anchors are not used. Default 4. */
  maxHops?: number;
  /** Entities that may not be anchors (e.g. held out of training); 1 = excluded. */
  excluded?: Uint8Array;
  /** Use exactly these anchors (e.g. a trained model's) instead of choosing: only the K nearest are searched. */
  anchors?: Int32Array;
}

export const DEFAULT_ANCHOR_TYPES = ['Advertiser', 'Category'];

export function defaultAnchorDegreeCount(numEntities: number): number {
  return Math.min(1024, Math.max(8, Math.round(Math.sqrt(numEntities))));
}

/** The undirected simple graph of the triples (self-loops dropped), nodes keyed by entity index. */
export function tripleGraph(numEntities: number, triples: readonly TripleArrays[]): UndirectedGraph {
  const g = new UndirectedGraph({ allowSelfLoops: false });
  for (let e = 0; e < numEntities; e++) g.addNode(String(e));
  for (const t of triples) {
    for (let i = 0; i < t.heads.length; i++) {
      const h = t.heads[i], tl = t.tails[i];
      if (h !== tl) g.mergeEdge(String(h), String(tl));
    }
  }
  return g;
}

/** Compressed adjacency of a graph from tripleGraph: neighbours of e are adj[off[e] .. off[e+1]). */
function compressedAdjacency(g: UndirectedGraph, n: number): { off: Int32Array; adj: Int32Array } {
  const off = new Int32Array(n + 1);
  for (let e = 0; e < n; e++) off[e + 1] = off[e] + g.degree(String(e));
  const adj = new Int32Array(off[n]);
  for (let e = 0; e < n; e++) {
    let p = off[e];
    g.forEachNeighbor(String(e), (nb) => {
      adj[p++] = Number(nb);
    });
  }
  return { off, adj };
}

/**
 * K nearest anchors of every node by hops: a multi-label BFS that spreads each anchor's label level
 * by level; a node accepts at most K labels, so the first K to arrive are the nearest (ties by anchor
 * order). O(K·E).
 */
export function nearestAnchors(off: Int32Array, adj: Int32Array, anchors: Int32Array, k: number, maxHops: number): { anchorOf: Int32Array; hops: Int32Array } {
  const n = off.length - 1;
  const anchorOf = new Int32Array(n * k).fill(-1);
  const hops = new Int32Array(n * k).fill(-1);
  const count = new Int32Array(n);
  let qNode = new Int32Array(Math.max(16, anchors.length * 2));
  let qAnchor = new Int32Array(qNode.length);
  let qHop = new Int32Array(qNode.length);
  let tail = 0;
  const push = (v: number, a: number, h: number): void => {
    if (tail === qNode.length) {
      const grow = (x: Int32Array): Int32Array => {
        const y = new Int32Array(x.length * 2);
        y.set(x);
        return y;
      };
      qNode = grow(qNode);
      qAnchor = grow(qAnchor);
      qHop = grow(qHop);
    }
    qNode[tail] = v;
    qAnchor[tail] = a;
    qHop[tail] = h;
    tail++;
  };
  const accept = (v: number, a: number, h: number): boolean => {
    if (count[v] >= k) return false;
    for (let i = 0; i < count[v]; i++) if (anchorOf[v * k + i] === a) return false;
    anchorOf[v * k + count[v]] = a;
    hops[v * k + count[v]] = h;
    count[v]++;
    return true;
  };
  for (let a = 0; a < anchors.length; a++) if (accept(anchors[a], a, 0)) push(anchors[a], a, 0);
  for (let head = 0; head < tail; head++) {
    const u = qNode[head], a = qAnchor[head], h = qHop[head];
    if (h >= maxHops) continue;
    for (let p = off[u]; p < off[u + 1]; p++) {
      const v = adj[p];
      if (accept(v, a, h + 1)) push(v, a, h + 1);
    }
  }
  return { anchorOf, hops };
}

/** Chooses anchors from the graph of `triples` and each entity's K nearest of them. */
export function selectAnchors(entities: readonly EntityEntry[], triples: readonly TripleArrays[], options: AnchorSelectionOptions = {}): AnchorIndex {
  const n = entities.length;
  const byType = options.byType ?? DEFAULT_ANCHOR_TYPES;
  const byDegree = options.byDegree ?? defaultAnchorDegreeCount(n);
  const k = options.k ?? 8;
  const maxHops = options.maxHops ?? 4;
  if (!Number.isInteger(k) || k < 1) throw new Error(`anchors per entity must be a positive integer, got ${k}`);
  const g = tripleGraph(n, triples);
  const { off, adj } = compressedAdjacency(g, n);
  if (options.anchors) {
    const { anchorOf, hops } = nearestAnchors(off, adj, options.anchors, k, maxHops);
    return { numEntities: n, k, anchors: options.anchors, anchorOf, hops, selection: { byType, byDegree: options.byDegree ?? 0, maxHops } };
  }
  const isAnchor = new Uint8Array(n);
  const chosen: number[] = [];
  const typeSet = new Set(byType);
  const allowed = (e: number): boolean => !options.excluded || !options.excluded[e];
  for (let e = 0; e < n; e++) {
    if (typeSet.has(entities[e].type) && allowed(e) && off[e + 1] > off[e]) {
      isAnchor[e] = 1;
      chosen.push(e);
    }
  }
  // Highest degree first; ties by entity index so the choice is deterministic.
  const byDeg = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => off[b + 1] - off[b] - (off[a + 1] - off[a]) || a - b);
  let added = 0;
  for (let i = 0; i < n && added < byDegree; i++) {
    const e = byDeg[i];
    if (isAnchor[e] || !allowed(e) || off[e + 1] === off[e]) continue;
    isAnchor[e] = 1;
    chosen.push(e);
    added++;
  }
  const anchors = Int32Array.from(chosen);
  const { anchorOf, hops } = nearestAnchors(off, adj, anchors, k, maxHops);
  return { numEntities: n, k, anchors, anchorOf, hops, selection: { byType, byDegree: added, maxHops } };
}
