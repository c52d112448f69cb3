/**
 * How an entity id becomes a vector x_e (backend.ts, "Entity representation"): a plain table row, or
 * TransRA's anchored composition ê_e + Σ α_{e,i} ā_{anchorOf[e,i]}.
 */
import type { ModelTables } from '../backends/backend';
import type { RowGradients } from '../optimizers/row-gradients';

export interface EntityGradients {
  entity: RowGradients;
  anchor: RowGradients | null;
  anchorLogit: RowGradients | null;
}

export interface EntityRepresentation {
  readonly dim: number;
  /** out[outOff .. outOff+d) = x_e. */
  compose(e: number, out: Float64Array, outOff: number): void;
  /** Marks the rows x_e reads as touched (so the optimizer steps them even at zero gradient). */
  touch(e: number, grads: EntityGradients): void;
  /** Adds ∂L/∂(rows) given gx = ∂L/∂x_e. */
  backward(e: number, gx: Float64Array, gxOff: number, grads: EntityGradients, learnWeights: boolean): void;
}

/** A plain table: x_e = entity[e]. */
export function tableRepresentation(tables: ModelTables): EntityRepresentation {
  const d = tables.shape.dim;
  const E = tables.entity;
  return {
    dim: d,
    compose(e, out, outOff) {
      const base = e * d;
      for (let i = 0; i < d; i++) out[outOff + i] = E[base + i];
    },
    touch(e, grads) {
      grads.entity.touch(e);
    },
    backward(e, gx, gxOff, grads) {
      const s = grads.entity.touch(e);
      const v = grads.entity.values;
      const base = s * d;
      for (let i = 0; i < d; i++) v[base + i] += gx[gxOff + i];
    },
  };
}

/** Softmax of the valid logits of entity e into alpha[0..K); returns the number of valid slots. */
export function anchorWeights(tables: ModelTables, e: number, alpha: Float64Array): number {
  const K = tables.shape.anchorsPerEntity;
  const of = tables.anchorOf!;
  const lg = tables.anchorLogit!;
  let m = -Infinity;
  let valid = 0;
  for (let i = 0; i < K; i++) {
    if (of[e * K + i] < 0) continue;
    valid++;
    if (lg[e * K + i] > m) m = lg[e * K + i];
  }
  let z = 0;
  for (let i = 0; i < K; i++) {
    if (of[e * K + i] < 0) {
      alpha[i] = 0;
      continue;
    }
    alpha[i] = Math.exp(lg[e * K + i] - m);
    z += alpha[i];
  }
  for (let i = 0; i < K; i++) alpha[i] = valid ? alpha[i] / z : 0;
  return valid;
}

/** TransRA: x_e = ê_e + Σ_i α_{e,i} ā_{anchorOf[e,i]}. */
export function anchoredRepresentation(tables: ModelTables): EntityRepresentation {
  const d = tables.shape.dim;
  const K = tables.shape.anchorsPerEntity;
  const E = tables.entity;
  const Abar = tables.anchor!;
  const of = tables.anchorOf!;
  const alpha = new Float64Array(K);
  const dots = new Float64Array(K);
  return {
    dim: d,
    compose(e, out, outOff) {
      const base = e * d;
      for (let i = 0; i < d; i++) out[outOff + i] = E[base + i];
      anchorWeights(tables, e, alpha);
      for (let s = 0; s < K; s++) {
        const a = of[e * K + s];
        if (a < 0) continue;
        const w = alpha[s];
        const ab = a * d;
        for (let i = 0; i < d; i++) out[outOff + i] += w * Abar[ab + i];
      }
    },
    touch(e, grads) {
      grads.entity.touch(e);
      grads.anchorLogit!.touch(e);
      for (let s = 0; s < K; s++) {
        const a = of[e * K + s];
        if (a >= 0) grads.anchor!.touch(a);
      }
    },
    backward(e, gx, gxOff, grads, learnWeights) {
      const se = grads.entity.touch(e);
      const ve = grads.entity.values;
      for (let i = 0; i < d; i++) ve[se * d + i] += gx[gxOff + i];
      anchorWeights(tables, e, alpha);
      let mean = 0;
      const ga = grads.anchor!;
      for (let s = 0; s < K; s++) {
        const a = of[e * K + s];
        if (a < 0) continue;
        const sa = ga.touch(a);
        const va = ga.values;
        const w = alpha[s];
        let dot = 0;
        for (let i = 0; i < d; i++) {
          va[sa * d + i] += w * gx[gxOff + i];
          dot += Abar[a * d + i] * gx[gxOff + i];
        }
        dots[s] = dot;
        mean += w * dot;
      }
      const gl = grads.anchorLogit!;
      const sl = gl.touch(e);
      if (!learnWeights) return;
      const vl = gl.values;
      for (let s = 0; s < K; s++) {
        if (of[e * K + s] < 0) continue;
        vl[sl * K + s] += alpha[s] * (dots[s] - mean);
      }
    },
  };
}

export function representationFor(tables: ModelTables): EntityRepresentation {
  return tables.shape.model === 'transra' ? anchoredRepresentation(tables) : tableRepresentation(tables);
}
