/** Allocation and seeded initialisation of a model's tables and optimizer slots. */
import { SeededRandom, hash32 } from '../../common/rng';
import type { AnchorIndex } from '../../common/anchor-index';
import { validateAnchorIndex } from '../../common/anchor-index';
import type { ModelName, ModelShape, ModelTables, OptimizerName, OptimizerState, TrainConfig } from '../backends/backend';
import { RNG_PURPOSE } from '../backends/backend';
import { createSlots } from '../optimizers/row-optimizers';

export interface ModelSpec {
  model: ModelName;
  numEntities: number;
  numRelations: number;
  dim: number;
  /** TransR/TransRA relation dimension (TransE ignores it: k = d). */
  relDim?: number;
  /** Required for TransRA. */
  anchorIndex?: AnchorIndex | null;
}

export function modelShape(spec: ModelSpec): ModelShape {
  const transra = spec.model === 'transra';
  if (transra && !spec.anchorIndex) throw new Error('TransRA needs an AnchorIndex (anchors chosen from the graph)');
  return {
    model: spec.model,
    numEntities: spec.numEntities,
    numRelations: spec.numRelations,
    dim: spec.dim,
    relDim: spec.model === 'transe' ? spec.dim : spec.relDim ?? spec.dim,
    numAnchors: transra ? spec.anchorIndex!.anchors.length : 0,
    anchorsPerEntity: transra ? spec.anchorIndex!.k : 0,
  };
}

/** Zeroed tables of the right sizes. */
export function allocateTables(spec: ModelSpec): ModelTables {
  const shape = modelShape(spec);
  const { numEntities: N, numRelations: R, dim: d, relDim: k, numAnchors: A, anchorsPerEntity: K, model } = shape;
  if (spec.anchorIndex && model === 'transra') validateAnchorIndex(spec.anchorIndex, N);
  return {
    shape,
    entity: new Float32Array(N * d),
    relation: new Float32Array(R * k),
    projection: model === 'transe' ? null : new Float32Array(R * k * d),
    anchor: model === 'transra' ? new Float32Array(A * d) : null,
    anchorOf: model === 'transra' ? spec.anchorIndex!.anchorOf : null,
    anchorLogit: model === 'transra' ? new Float32Array(N * K) : null,
    anchorIndex: model === 'transra' ? spec.anchorIndex! : null,
  };
}

/**
 * Seeded initialisation: entity, relation and anchor values uniform in [−scale, scale]; projections
 * the identity (TransR starts as TransE); anchor logits −log(1 + hops), so α ∝ 1/(1 + hops).
 */
export function initializeTables(tables: ModelTables, seed: number, scale: number): void {
  const rng = new SeededRandom(hash32(seed ^ (RNG_PURPOSE.INIT * 0x9e3779b1)));
  const fill = (a: Float32Array): void => {
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * scale;
  };
  fill(tables.entity);
  fill(tables.relation);
  if (tables.anchor) fill(tables.anchor);
  const { dim: d, relDim: k, numRelations: R } = tables.shape;
  if (tables.projection) {
    tables.projection.fill(0);
    for (let r = 0; r < R; r++) for (let i = 0; i < Math.min(k, d); i++) tables.projection[r * k * d + i * d + i] = 1;
  }
  if (tables.anchorLogit && tables.anchorIndex) {
    const hops = tables.anchorIndex.hops;
    for (let i = 0; i < hops.length; i++) tables.anchorLogit[i] = hops[i] >= 0 ? -Math.log(1 + hops[i]) : 0;
  }
}

/** Default init scale: RotatE's (γ + 2)/d for the softplus loss, 6/√d (TransE paper) for margin. */
export function defaultInitScale(config: Pick<TrainConfig, 'loss' | 'margin'>, dim: number): number {
  return config.loss === 'softplus' ? (config.margin + 2) / dim : 6 / Math.sqrt(dim);
}

export function createOptimizerState(tables: ModelTables, entityOptimizer: OptimizerName, relationOptimizer: OptimizerName): OptimizerState {
  const state: OptimizerState = {
    entity: createSlots(entityOptimizer, tables.entity.length),
    relation: createSlots(relationOptimizer, tables.relation.length),
  };
  if (tables.projection) state.projection = createSlots(relationOptimizer, tables.projection.length);
  if (tables.anchor) state.anchor = createSlots(entityOptimizer, tables.anchor.length);
  if (tables.anchorLogit) state.anchorLogit = createSlots(entityOptimizer, tables.anchorLogit.length);
  return state;
}
