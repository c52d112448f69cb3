/**
 * The tensor-core GEMM tiles of the cuda backend (ADKG_CUDA_GEMM=tf32x3|tf32; ADKG_CUDA_GEMM_TILE=element|chunk)
 * checked without a GPU: cuda/test/mma_layout_check.cc emulates one block of each on the host with the same
 * lane/fragment/piece arithmetic (cuda/src/mma_layout.h) and mma.sync as the PTX ISA defines it, and compares the
 * 128×128 tile with an exact product; it also counts the bank conflicts of every warp-wide shared-memory access
 * (the swizzle's and the padding's purpose) and, for the 16-byte tile, checks that each 16-byte piece lands on four
 * consecutive aligned words and that the pieces of a K-step write each operand element exactly once.
 * On a GPU the device battery (kge-cuda-backend.test.ts, bench/kge-gpu/parity.ts) runs the real thing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');

test('both tensor-core tiles compute the product: every output written once, 3xTF32 at FP32 rounding, TF32 near 2^-11, no shared-memory bank conflicts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-mma-'));
  const exe = path.join(dir, 'mma_layout_check');
  try {
    const cc = spawnSync(process.env.CXX || 'g++', ['-std=c++17', '-O2', '-Wall', '-Werror', '-o', exe,
      path.join(root, 'cuda/test/mma_layout_check.cc')], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    expect(cc.status).toBe(0);
    const run = spawnSync(exe, [], { encoding: 'utf8' });
    const cases = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { tile: string; K: number; layout: number; tf32x3MaxRel: number; tf32MaxRel: number; badWrites: number; bankConflictWays: number; ok: boolean });
    expect(cases).toHaveLength(15);
    expect(cases.filter((c) => c.tile === 'chunk')).toHaveLength(9);
    for (const c of cases) {
      expect(c.badWrites).toBe(0);
      expect(c.bankConflictWays).toBe(1);
      expect(c.tf32x3MaxRel).toBeLessThan(2e-6);
      expect(c.tf32MaxRel).toBeGreaterThan(2e-5);
      expect(c.ok).toBe(true);
    }
    expect(run.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
