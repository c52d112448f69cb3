/**
 * The Gram form of the cuda backend (cuda/src/gram.cu, ADKG_CUDA_PROJECTED_DISTANCE=gram) checked without a GPU:
 * cuda/test/gram_emulation_check.cc runs its three kernels as written on emulated thread blocks (a std::thread per
 * CUDA thread; __syncthreads, __syncwarp and the warp shuffles as barriers, so a shuffle some lane skips deadlocks and
 * fails the run), with the GEMMs between them as plain loops, and compares the loss and the gradients of the entity
 * rows, M_r and r_r with the direct form in double precision: random tables, near-identical entity pairs (the Gram
 * value cancels: recomputed from M_r), fitted positives (M_r h + r ≈ M_r t), adversarial weights, d = k = 128,
 * k > d, and d = 20 (lanes past d). On a GPU the device battery (kge-cuda-backend.test.ts, parity.js) runs the real
 * thing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');

test('the Gram form kernels, emulated on the host, give the direct form\'s loss and gradients at FP32 level', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-gram-'));
  const exe = path.join(dir, 'gram_emulation_check');
  try {
    const cc = spawnSync(process.env.CXX || 'g++', ['-std=c++20', '-O2', '-Wall', '-Werror', '-Wno-unknown-pragmas', '-pthread',
      '-I', path.join(root, 'cuda/test/emu'), '-o', exe, path.join(root, 'cuda/test/gram_emulation_check.cc')], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    expect(cc.status).toBe(0);
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 240_000 });
    expect(run.stderr).toBe('');
    const cases = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { case: string; lossRel: number; gradXRel: number; gradMRel: number; gradRRel: number; fallbackNegatives: number; ok: boolean });
    expect(cases).toHaveLength(8);
    for (const c of cases) {
      expect(c.lossRel).toBeLessThan(1e-5);
      // The direct form's own FP32 rounding is ~1e-7–1e-6 here; the battery on the device allows 1e-4.
      expect(c.gradXRel).toBeLessThan(1e-5);
      expect(c.gradMRel).toBeLessThan(1e-5);
      expect(c.gradRRel).toBeLessThan(1e-5);
      expect(c.ok).toBe(true);
    }
    // The cancelling cases do exercise the recomputation from M_r.
    expect(cases.find((c) => c.case.startsWith('near pairs d16'))!.fallbackNegatives).toBeGreaterThan(50);
    expect(run.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
