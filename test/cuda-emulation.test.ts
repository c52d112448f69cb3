/**
 * Kernels of the cuda backend checked without a GPU: cuda/test/*_emulation_check.cc compile the kernels as written with
 * g++ against cuda/test/emu/cuda_runtime.h, which runs each CUDA thread of a block as a fiber, the first runnable one
 * in thread order until its next barrier (deterministic: atomics land in the same order every run; a warp a barrier
 * releases runs ahead of the others, so a missing block barrier shows); __syncthreads, __syncwarp and the warp
 * shuffles are barriers, so a shuffle some lane skips deadlocks (exit 3), and every 16-byte access through ld4/st4 is
 * checked for alignment (exit 4); mma.sync and wgmma.mma_async are emulated from the PTX ISA's layouts, a cp.async copy
 * lands only when a cp.async.wait covers its group (a read before its wait sees older data), and a wgmma reads its B
 * at the wait. mma_layout_check.cc checks the tiles' bank conflicts; stream_emulation_check.cc the runtime's streams
 * (work queued until the host waits) and page-locking. The whole engine on the same emulation:
 * kge-cuda-emulated.test.ts. On a GPU the device battery (kge-cuda-backend.test.ts, bench/kge-gpu/parity.ts) runs the
 * real thing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');

/** Compiles cuda/test/<name>.cc (and the cuda/src units it links with: gram.cu's launchers call kernels.cu's, whose GEMM
 * launchers call gemm_unit.cu's) with the emulation and runs it: its JSON lines, exit status and stderr. */
function emulate<T>(name: string, units: string[] = []): { cases: T[]; status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-emu-'));
  const exe = path.join(dir, name);
  try {
    // Unused: kernels.cu's other kernels, which these checks do not launch.
    const cc = spawnSync(process.env.CXX || 'g++', ['-std=c++20', '-O2', '-Wall', '-Werror', '-Wno-unknown-pragmas', '-Wno-unused-function',
      '-Wno-unused-variable', '-I', path.join(root, 'cuda/test/emu'), '-o', exe, path.join(root, `cuda/test/${name}.cc`),
      ...(units.length ? ['-x', 'c++', ...units.map((u) => path.join(root, 'cuda/src', u))] : [])], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    expect(cc.status).toBe(0);
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 240_000 });
    return { cases: run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T), status: run.status, stderr: run.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the emulated runtime keeps a stream\'s work until the host waits for it, and page-locks as a GPU does', () => {
  // What lets the engine's emulated battery show a missing wait (kge-cuda-emulated.test.ts): cuda/test/emu/runtime_api.h.
  const r = emulate<{ case: string; ok: boolean; detail: string }>('stream_emulation_check');
  expect(r.stderr).toBe('');
  expect(r.cases).toHaveLength(6);
  for (const c of r.cases) expect(c).toEqual({ case: c.case, ok: true, detail: c.detail });
  expect(r.status).toBe(0);
}, 120_000);

test('the Gram form kernels (gram.cu), emulated, give the direct form\'s loss and gradients at FP32 level', () => {
  // Random tables, near-identical entity pairs (the Gram value cancels: recomputed from M_r), fitted positives
  // (M_r h + r ≈ M_r t), adversarial weights, d = k = 128, k > d, and d = 20 (lanes past d); against double.
  const r = emulate<{ case: string; lossRel: number; gradXRel: number; gradMRel: number; gradRRel: number; fallbackNegatives: number; ok: boolean }>('gram_emulation_check', ['kernels.cu', 'gemm_unit.cu']);
  expect(r.stderr).toBe('');
  expect(r.cases).toHaveLength(8);
  for (const c of r.cases) {
    expect(c.lossRel).toBeLessThan(1e-5);
    // Measured 1e-7–6e-6 here (the direct form's own FP32 rounding is ~1e-7–1e-6); the battery on the device allows 1e-4.
    expect(c.gradXRel).toBeLessThan(3e-5);
    expect(c.gradMRel).toBeLessThan(3e-5);
    expect(c.gradRRel).toBeLessThan(3e-5);
    expect(c.ok).toBe(true);
  }
  // The cancelling cases do exercise the recomputation from M_r.
  expect(r.cases.find((c) => c.case.startsWith('near pairs d16'))!.fallbackNegatives).toBeGreaterThan(50);
  expect(r.status).toBe(0);
}, 300_000);

test('the shared-negatives loss kernel\'s 16-byte variant (ADKG_CUDA_SHARED_LOSS=vector), emulated, gives the default\'s bits', () => {
  // groupLossKernel<true> against <false> (which passed the device battery) on the same groups, bitwise, and both
  // against the loss and gradients in double; every ∂ row written; at the bench's k = 128, n = 64 and odd shapes.
  const r = emulate<{ case: string; groups: number; vecBitsDiffer: number; vecLossEqual: boolean; lossRel: number; dVRel: number; dRRel: number; ok: boolean }>('loss_emulation_check', ['gemm_unit.cu']);
  expect(r.stderr).toBe('');
  expect(r.cases).toHaveLength(5);
  for (const c of r.cases) {
    expect(c.vecBitsDiffer).toBe(0);
    expect(c.vecLossEqual).toBe(true);
    expect(c.lossRel).toBeLessThan(1e-5);
    expect(c.dVRel).toBeLessThan(1e-5);
    expect(c.dRRel).toBeLessThan(1e-5);
    expect(c.ok).toBe(true);
  }
  expect(r.status).toBe(0);
}, 300_000);

test('the projection GEMM kernels, emulated, in every build the launchers pick (SIMT, 3xTF32, TF32; one or two blocks per SM; the 16-byte, warpgroup and stationary tiles) give the products', () => {
  // projectKernel, projectBackXKernel and projectBackMKernel over rows gathered through rowSlot, at d = k = 128,
  // d = 16 / k = 12 and d = 132 / k = 68, against double; mma.sync and wgmma.mma_async (A in registers, B through a
  // no-swizzle K-major descriptor, read at the wait that covers it) emulated from the PTX ISA's layouts. The stationary
  // tile on persistent grids of one and two blocks; the cp.async tiles again with copies landing at their issue (eager);
  // the warpgroup tiles again with wgmma reading its operands at its issue (early-read).
  const r = emulate<{ variant: string; d: number; k: number; project: number; backX: number; backM: number; tolerance: number; ok: boolean }>('gemm_emulation_check');
  expect(r.stderr).toBe('');
  expect(r.cases).toHaveLength(69);
  expect(r.cases.filter((c) => c.variant.includes('chunk'))).toHaveLength(15);
  expect(r.cases.filter((c) => c.variant.includes('wgmma'))).toHaveLength(12);
  expect(r.cases.filter((c) => c.variant.includes('stationary'))).toHaveLength(21);
  expect(r.cases.filter((c) => c.variant.endsWith('eager'))).toHaveLength(15);
  expect(r.cases.filter((c) => c.variant.endsWith('early-read'))).toHaveLength(9);
  for (const c of r.cases) {
    const tol = c.variant.startsWith('tf32 ') ? 3e-3 : 2e-6;
    expect(c.project).toBeLessThan(tol);
    expect(c.backX).toBeLessThan(tol);
    expect(c.backM).toBeLessThan(tol);
    expect(c.ok).toBe(true);
  }
  expect(r.status).toBe(0);
}, 300_000);
