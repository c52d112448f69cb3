/**
 * Numerics of the Gram form of TransR's L2 distance, measured on the CPU before any CUDA is written for it
 * (bench/kge-gpu/README.md, "Reading the next run", lever 3).
 *
 * Today each projected row costs three k×d products: P = M_r x, ∂x = M_rᵀ ∂p, ∂M_r += ∂p xᵀ. For a negative y of a
 * positive (h, r, t) with tails replaced, e = M(h − y) + r = M u + r, and with G = MᵀM, c = Mᵀr, ρ = ‖r‖²:
 *   dist² = uᵀ(G u) + 2 cᵀu + ρ,   ∂y = −w (G u + c),   ∂M = M S + r sᵀ with S = Σ w u uᵀ, s = Σ w u  (w = ∂ℓ/∂dist / dist)
 * so a negative costs one d×d product (z = G u) and a symmetric rank-1 update of S, not three products. The risk is
 * cancellation: uᵀz + 2cᵀu + ρ and z + c are sums of terms larger than the result when dist is small (hard negatives,
 * which self-adversarial weights favour). This script emulates FP32 with fused multiply-adds (one rounding each, as the
 * GPU's FFMA) and compares, against an FP64 reference, the direct form as the kernels compute it and the Gram form.
 *
 *   npx tsc -p bench/kge-gpu/tsconfig.json --outDir /tmp/gram && node /tmp/gram/bench/kge-gpu/gram-form.js [--d 128] [--pairs 4096]
 */
import { SeededRandom } from '../../src/common/rng';

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : def);
const D = arg('d', 128); // d = k
const PAIRS = arg('pairs', 4096);

const f32 = Math.fround;
/** a·b + c with one FP32 rounding (the product of two floats is exact in a double). */
const fma = (a: number, b: number, c: number) => f32(a * b + c);

/** y = A x (A rows × cols, row-major), FP32 with FMA accumulation, or exact (FP64) when exact. */
function matvec(A: Float64Array, x: Float64Array, rows: number, cols: number, exact: boolean, transpose = false): Float64Array {
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const a = transpose ? A[j * rows + i] : A[i * cols + j];
      s = exact ? s + a * x[j] : fma(a, x[j], s);
    }
    y[i] = s;
  }
  return y;
}

function main(): void {
  const rng = new SeededRandom(11);
  const gauss = (s: number) => f32(rng.normal() * s);
  // A projection near a scaled rotation plus noise (as trained TransR matrices look), entity vectors of norm ≈ 1–2.
  const M = new Float64Array(D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) M[i * D + j] = f32((i === j ? 1 : 0) + gauss(0.3 / Math.sqrt(D)));
  const r = Float64Array.from({ length: D }, () => gauss(0.5 / Math.sqrt(D)));
  // G = MᵀM, c = Mᵀr, ρ = ‖r‖², once per relation (FP32 as the GPU would: FMA over k).
  const G32 = new Float64Array(D * D);
  for (let a = 0; a < D; a++)
    for (let b = 0; b < D; b++) {
      let s32 = 0;
      for (let i = 0; i < D; i++) s32 = fma(M[i * D + a], M[i * D + b], s32);
      G32[a * D + b] = s32;
    }
  const c32 = matvec(M, r, D, D, false, true);
  let rho32 = 0;
  for (let i = 0; i < D; i++) rho32 = fma(r[i], r[i], rho32);

  // Per band of true distance: worst relative error of dist and of ∂y (its direction and size) for both forms.
  const bands = [0.003, 0.01, 0.03, 0.1, 0.3, 1, Infinity];
  const worst = bands.map(() => ({ n: 0, directDist: 0, gramDist: 0, directGrad: 0, gramGrad: 0 }));
  for (let p = 0; p < PAIRS; p++) {
    const h = Float64Array.from({ length: D }, () => gauss(1.5 / Math.sqrt(D)));
    // The residual e = M(h − y) + r is chosen (size from 0.001 to 3), and y solved from it: u = M⁻¹(e − r) by
    // Richardson iteration (M is I plus a small perturbation). So e is small while M u and r are not: the cancelling case.
    const size = Math.pow(10, -3 + 3.5 * rng.next());
    const target = Float64Array.from({ length: D }, () => rng.normal() * (size / Math.sqrt(D)));
    const b = Float64Array.from({ length: D }, (_, i) => target[i] - r[i]);
    const u = Float64Array.from(b);
    for (let it = 0; it < 60; it++) {
      const mu = matvec(M, u, D, D, true);
      for (let i = 0; i < D; i++) u[i] += b[i] - mu[i];
    }
    const y = Float64Array.from({ length: D }, (_, i) => f32(h[i] - u[i]));
    const u32 = Float64Array.from({ length: D }, (_, i) => f32(h[i] - y[i]));
    const u64 = Float64Array.from({ length: D }, (_, i) => h[i] - y[i]);
    // FP64 reference: e = M u + r, dist = ‖e‖, ∂y ∝ Mᵀe (w = 1 here; w scales both forms alike).
    const e64 = matvec(M, u64, D, D, true).map((v, i) => v + r[i]);
    const dist64 = Math.hypot(...e64);
    const g64 = matvec(M, e64, D, D, true, true);
    // Direct FP32, as the kernels: P rows of h and y projected separately, e = (M h + r) − M y, ∂y = Mᵀe.
    const ph = matvec(M, h, D, D, false), py = matvec(M, y, D, D, false);
    const eD = Float64Array.from({ length: D }, (_, i) => f32(f32(ph[i] + r[i]) - py[i]));
    let dD = 0;
    for (let i = 0; i < D; i++) dD = fma(eD[i], eD[i], dD);
    const distD = f32(Math.sqrt(dD));
    const gD = matvec(M, eD, D, D, false, true);
    // Gram FP32: z = G u, dist² = uᵀz + 2cᵀu + ρ, ∂y ∝ z + c.
    const z = matvec(G32, u32, D, D, false);
    let q = 0, lin = 0;
    for (let i = 0; i < D; i++) (q = fma(u32[i], z[i], q)), (lin = fma(c32[i], u32[i], lin));
    const d2 = f32(f32(q + f32(2 * lin)) + rho32);
    const distG = f32(Math.sqrt(Math.max(0, d2)));
    const gG = Float64Array.from({ length: D }, (_, i) => f32(z[i] + c32[i]));
    const relErr = (a: Float64Array | number[], b: Float64Array) => {
      let num = 0, den = 0;
      for (let i = 0; i < b.length; i++) (num += (a[i] - b[i]) ** 2), (den += b[i] ** 2);
      return Math.sqrt(num / Math.max(den, 1e-300));
    };
    const band = bands.findIndex((b) => dist64 < b);
    const w = worst[band];
    w.n++;
    w.directDist = Math.max(w.directDist, Math.abs(distD - dist64) / dist64);
    w.gramDist = Math.max(w.gramDist, Math.abs(distG - dist64) / dist64);
    w.directGrad = Math.max(w.directGrad, relErr(gD, g64));
    w.gramGrad = Math.max(w.gramGrad, relErr(gG, g64));
  }
  console.log(`d = k = ${D}, ${PAIRS} pairs; worst relative error against FP64, by true distance (FP32 eps 6.0e-8)`);
  console.log('dist band        pairs  direct dist  gram dist  direct ∂y  gram ∂y');
  bands.forEach((b, i) => {
    const w = worst[i], lo = i === 0 ? 0 : bands[i - 1];
    const e = (x: number) => x.toExponential(1).padStart(9);
    if (w.n) console.log(`[${String(lo).padEnd(4)}, ${String(b).padEnd(8)})  ${String(w.n).padStart(5)}  ${e(w.directDist)}  ${e(w.gramDist)}  ${e(w.directGrad)}  ${e(w.gramGrad)}`);
  });
}

main();
