/**
 * Self-adversarial negative weights (Sun et al. 2019, RotatE): w_j = softmax_j(−τ·dist⁻_j), held
 * constant in the backward pass; τ = 0 gives the plain mean 1/n.
 */
export function negativeWeights(distNeg: Float64Array, off: number, n: number, temperature: number, out: Float64Array): void {
  if (temperature === 0) {
    for (let j = 0; j < n; j++) out[j] = 1 / n;
    return;
  }
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, -temperature * distNeg[off + j]);
  let z = 0;
  for (let j = 0; j < n; j++) {
    out[j] = Math.exp(-temperature * distNeg[off + j] - m);
    z += out[j];
  }
  for (let j = 0; j < n; j++) out[j] /= z;
}
