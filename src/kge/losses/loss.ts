/**
 * Per-positive losses over distances (backend.ts, "Loss of one batch"). Each returns ℓ_b and writes
 * the coefficients ∂ℓ_b/∂dist⁺ and ∂ℓ_b/∂dist⁻_j.
 */
import type { LossName } from '../backends/backend';
import { negativeWeights } from './self-adversarial';

/** softplus(x) = log(1 + eˣ), stable for large |x|. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export interface LossParams {
  loss: LossName;
  margin: number;
  adversarialTemperature: number;
}

/** ℓ_b; coefNeg[0..n) receives ∂ℓ_b/∂dist⁻_j; returns [ℓ_b, ∂ℓ_b/∂dist⁺]. */
export function positiveLoss(
  p: LossParams, distPos: number, distNeg: Float64Array, off: number, n: number, weights: Float64Array, coefNeg: Float64Array,
): [number, number] {
  negativeWeights(distNeg, off, n, p.adversarialTemperature, weights);
  const g = p.margin;
  if (p.loss === 'margin') {
    let loss = 0;
    let coefPos = 0;
    for (let j = 0; j < n; j++) {
      const x = g + distPos - distNeg[off + j];
      if (x > 0) {
        loss += weights[j] * x;
        coefPos += weights[j];
        coefNeg[j] = -weights[j];
      } else coefNeg[j] = 0;
    }
    return [loss, coefPos];
  }
  // softplus: ½[softplus(dist⁺ − γ) + Σ w_j softplus(γ − dist⁻_j)]
  let loss = 0.5 * softplus(distPos - g);
  const coefPos = 0.5 * sigmoid(distPos - g);
  for (let j = 0; j < n; j++) {
    const x = g - distNeg[off + j];
    loss += 0.5 * weights[j] * softplus(x);
    coefNeg[j] = -0.5 * weights[j] * sigmoid(x);
  }
  return [loss, coefPos];
}
