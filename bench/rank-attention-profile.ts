/**
 * Where the attention variant's dense time goes: one forward+backward of the AttentionFinetuner alone,
 * on the tfjs backend in use, per op kind (tf.profile). Helps decide what to restructure.
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/rank-attention-profile.js [--backend wasm|cpu]
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../src/common/rng';
import { AttentionFinetuner, RelationSpaces, initDenseBackend } from '../src/ranking';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--backend');
  const backend = await initDenseBackend(i > 0 ? (process.argv[i + 1] as 'wasm') : undefined);
  const B = 512, d = 32, H = 10, R = 10, k = 32;
  const rng = new SeededRandom(1);
  const spaces: RelationSpaces = {
    names: Array.from({ length: R }, (_, r) => `R${r}`),
    tailIsPin: Array.from({ length: R }, (_, r) => (r < 5 ? 1 : 0)),
    relDim: k,
    proj: Float32Array.from({ length: d * R * k }, () => rng.normal() * 0.1),
    offsets: Float32Array.from({ length: R * k }, () => rng.normal() * 0.1),
  };
  const ft = new AttentionFinetuner(rng, d, spaces);
  const mk = (shape: number[]) => tf.variable(tf.randomNormal(shape));
  const u = mk([B, d]), p = mk([B, d]), a = mk([B, d]), h = mk([B, H, d]);
  const mask = tf.ones([B, H]) as tf.Tensor2D;
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(ft.apply(u as tf.Tensor2D, p as tf.Tensor2D, a as tf.Tensor2D, h as tf.Tensor3D, mask)) as tf.Scalar, [...ft.variables, u, p, a, h]);
    Object.values(grads).forEach((g) => g.dataSync());
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const n = 10;
  const t0 = performance.now();
  for (let s = 0; s < n; s++) step();
  const ms = (performance.now() - t0) / n;
  const prof = await tf.profile(step);
  const byKernel = new Map<string, number>();
  for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  for (const k of prof.kernels) if (k.name === 'BatchMatMul' && Number(k.kernelTimeMs) > 3) process.stderr.write(`  BatchMatMul ${JSON.stringify(k.inputShapes)} ${Number(k.kernelTimeMs).toFixed(1)}ms\n`);
  const top = [...byKernel.entries()].sort((x, y) => y[1] - x[1]).slice(0, 10).map(([name, t]) => `${name} ${t.toFixed(1)}ms`);
  process.stderr.write(`top kernels: ${top.join(', ')}\n`);
  process.stdout.write(JSON.stringify({ bench: 'rank-attention-profile', backend, batch: B, msPerStep: Number(ms.toFixed(1)), samplesPerSecond: Math.round((B * 1000) / ms), kernels: prof.kernels.length }) + '\n');
}
main();
