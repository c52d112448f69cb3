/** Distances of a residual vector v and their gradient (backend.ts, "Distance"). */
import type { NormName } from '../backends/backend';

export type Vec = Float32Array | Float64Array;

/** ‖v‖ over v[off .. off+len). */
export function distance(v: Vec, off: number, len: number, norm: NormName): number {
  let s = 0;
  if (norm === 'l1') {
    for (let i = 0; i < len; i++) s += Math.abs(v[off + i]);
    return s;
  }
  for (let i = 0; i < len; i++) s += v[off + i] * v[off + i];
  return Math.sqrt(s);
}

/** out[i] = scale · ∂dist/∂v_i. sign(0) = 0; the l2 gradient at dist = 0 is 0. */
export function distanceGradient(v: Vec, off: number, len: number, dist: number, norm: NormName, scale: number, out: Float64Array): void {
  if (norm === 'l1') {
    for (let i = 0; i < len; i++) {
      const x = v[off + i];
      out[i] = x > 0 ? scale : x < 0 ? -scale : 0;
    }
    return;
  }
  const f = dist > 0 ? scale / dist : 0;
  for (let i = 0; i < len; i++) out[i] = v[off + i] * f;
}
