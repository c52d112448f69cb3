/**
 * Inductive evaluation (DESIGN §4): entities held out of training entirely are embedded at
 * evaluation time — TransRA from their anchors alone (ê = 0, anchors found through their support
 * edges), TransR by a fallback vector (the mean of the trained entity vectors, or zero; the better
 * one is reported) — and ranked on their query triples.
 */
import type { AnchorIndex } from '../../common/anchor-index';
import type { KgeBackend, ModelTables } from '../backends/backend';
import { FilterIndex } from './filter-index';
import { evaluateLinkPrediction, type LinkPredictionMetrics } from './link-prediction';
import type { InductiveSplit } from './splits';

export type InductiveFallback = 'anchors' | 'mean' | 'zero';

export interface InductiveResult {
  /** The metrics of the best embedding rule (TransR: best fallback). */
  best: LinkPredictionMetrics & { fallback: InductiveFallback };
  /** Every rule tried. */
  byFallback: Partial<Record<InductiveFallback, LinkPredictionMetrics>>;
  queries: number;
  heldOut: number;
}

function setHeldOutRows(tables: ModelTables, split: InductiveSplit, value: Float64Array | null): void {
  const d = tables.shape.dim;
  for (const e of split.heldOut) for (let i = 0; i < d; i++) tables.entity[e * d + i] = value ? value[i] : 0;
}

function meanOfTrained(tables: ModelTables, split: InductiveSplit): Float64Array {
  const { dim: d, numEntities: N } = tables.shape;
  const m = new Float64Array(d);
  let c = 0;
  for (let e = 0; e < N; e++) {
    if (split.isHeldOut[e]) continue;
    for (let i = 0; i < d; i++) m[i] += tables.entity[e * d + i];
    c++;
  }
  for (let i = 0; i < d; i++) m[i] /= c || 1;
  return m;
}

/**
 * Evaluates a model trained on split.train on split.query. For TransRA, `supportAnchors` is the
 * anchor index over train + support with the model's anchor set: the held-out entities' rows are
 * copied into the model (hop-based logits), their ê set to 0. Tables are modified in place.
 */
export async function evaluateInductive(
  backend: KgeBackend, tables: ModelTables, split: InductiveSplit, supportAnchors?: AnchorIndex,
  options: { progress?: boolean } = {},
): Promise<InductiveResult> {
  const N = tables.shape.numEntities;
  const filter = new FilterIndex([split.train, split.support, split.query], tables.shape.numRelations);
  const run = (): Promise<LinkPredictionMetrics> => evaluateLinkPrediction(backend, N, split.query, filter, { progress: options.progress, label: 'inductive' });
  const byFallback: Partial<Record<InductiveFallback, LinkPredictionMetrics>> = {};
  if (tables.shape.model === 'transra') {
    if (!supportAnchors) throw new Error('inductive TransRA evaluation needs the anchor index over train + support edges');
    const K = tables.shape.anchorsPerEntity;
    if (supportAnchors.k !== K || supportAnchors.anchors.length !== tables.shape.numAnchors) {
      throw new Error(`support anchor index has k=${supportAnchors.k}, ${supportAnchors.anchors.length} anchors; the model has k=${K}, ${tables.shape.numAnchors}`);
    }
    for (const e of split.heldOut) {
      for (let i = 0; i < K; i++) {
        const a = supportAnchors.anchorOf[e * K + i];
        tables.anchorOf![e * K + i] = a;
        const h = supportAnchors.hops[e * K + i];
        tables.anchorLogit![e * K + i] = h >= 0 ? -Math.log(1 + h) : 0;
      }
    }
    setHeldOutRows(tables, split, null);
    byFallback.anchors = await run();
  } else {
    setHeldOutRows(tables, split, meanOfTrained(tables, split));
    byFallback.mean = await run();
    setHeldOutRows(tables, split, null);
    byFallback.zero = await run();
  }
  let best: InductiveFallback | null = null;
  for (const [k, m] of Object.entries(byFallback) as [InductiveFallback, LinkPredictionMetrics][]) {
    if (!best || m.mrr > byFallback[best]!.mrr) best = k;
  }
  return { best: { ...byFallback[best!]!, fallback: best! }, byFallback, queries: split.query.heads.length, heldOut: split.heldOut.length };
}


