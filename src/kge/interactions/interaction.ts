/**
 * An interaction turns (x_h, r, x_t) into a residual v whose norm is the distance, and carries the
 * gradient of a residual back to its inputs (backend.ts, "Distance").
 */
import type { Vec } from './norm';

/** Relation parameters of one relation: r (length k) and, for TransR, M_r (k×d row-major). */
export interface RelationParams {
  r: Vec;
  rOff: number;
  M: Vec | null;
  MOff: number;
}

export interface Interaction {
  readonly name: 'transe' | 'transr';
  /** v[0..k) = residual of (x_h, rel, x_t); x vectors have length d. */
  residual(xh: Vec, xhOff: number, xt: Vec, xtOff: number, rel: RelationParams, d: number, k: number, v: Float64Array): void;
  /**
   * Given gv = ∂L/∂v (length k), adds ∂L/∂x_h to gxh, ∂L/∂x_t to gxt, ∂L/∂r to gr and ∂L/∂M_r to gM (when present).
   */
  backward(
    gv: Float64Array, xh: Vec, xhOff: number, xt: Vec, xtOff: number, rel: RelationParams, d: number, k: number,
    gxh: Float64Array, gxhOff: number, gxt: Float64Array, gxtOff: number, gr: Float64Array, grOff: number, gM: Float64Array | null, gMOff: number,
  ): void;
}
