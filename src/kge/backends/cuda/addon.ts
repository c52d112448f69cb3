/**
 * Loads the CUDA addon (cuda/build/Release/adkg_cuda.node, built by `node cuda/build.js` where nvcc exists).
 * The addon links the CUDA runtime statically, so it loads on machines without a GPU and says why it
 * cannot run there (info().reason); a missing build is reported with the command that makes it.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { EngineConfig, EngineHandle } from '../engine-backend';

export type CudaPlacement = 'auto' | 'resident' | 'hybrid';

/**
 * How the TransR/TransRA projection GEMMs (P = M_r x, ∂x, ∂M) multiply: simt = FP32 FMA tiles; tf32x3 =
 * tensor cores, each operand split into two TF32 parts and three products summed, rounding like FP32;
 * tf32 = one TF32 product (about 10 mantissa bits in: a numerics change, as PyTorch's allow_tf32).
 */
export type CudaGemm = 'simt' | 'tf32x3' | 'tf32';
export const CUDA_GEMMS: readonly CudaGemm[] = ['simt', 'tf32x3', 'tf32'];
export type CudaGemmTile = 'element' | 'chunk' | 'wgmma' | 'stationary';
export const CUDA_GEMM_TILES: readonly CudaGemmTile[] = ['element', 'chunk', 'wgmma', 'stationary'];
/**
 * How TransR/TransRA with independent negatives and the L2 norm get their distances: direct = project every row
 * (P = M_r x), ∂x and ∂M from ∂P: three GEMMs; gram = with G_r = M_rᵀM_r, z = G_r x for every row, distances and ∂x
 * from dot products of x and z, ∂M from S = Σ κ u uᵀ: two GEMMs (cuda/src/gram.cu). A pair whose Gram value cancels
 * (the positive once trained, hard negatives) is recomputed directly, so results stay at FP32 level.
 */
export type CudaProjectedDistance = 'direct' | 'gram';
export const CUDA_PROJECTED_DISTANCES: readonly CudaProjectedDistance[] = ['direct', 'gram'];
/** How the shared-negatives loss kernel (L2) reads its rows from shared memory: element (4 bytes at a time) or vector
 * (rows padded to a multiple of 4, 16 bytes at a time; relDim a multiple of 4, else element). */
export type CudaSharedLoss = 'element' | 'vector';
export const CUDA_SHARED_LOSSES: readonly CudaSharedLoss[] = ['element', 'vector'];
/**
 * How staged rows (the hybrid placement's batches, trainBatch, gradients) move between the JS tables and the device:
 * copy (host threads gather rows into a page-locked buffer that DMA copies, and scatter them back after) or mapped
 * (the tables of 16 MB and up are page-locked once and the device reads and writes their rows itself, so nothing is
 * copied on the host and the host plans the next batch while the device runs this one; smaller tables are copied).
 */
export type CudaStaging = 'copy' | 'mapped';
export const CUDA_STAGINGS: readonly CudaStaging[] = ['copy', 'mapped'];

export interface CudaEngineOptions {
  /** auto: the whole entity table on the device when it fits the budget, else hybrid (host rows + device cache). */
  placement?: CudaPlacement;
  /** Device bytes the engine may plan with; default 90% of free device memory. */
  memoryBudget?: number;
  /** Hybrid: rows cached on the device for a whole trainRun; default as many as the budget allows. */
  hotRows?: number;
  /** The projection GEMMs' math; default tf32x3 (simt on GPUs before sm_80). */
  gemm?: CudaGemm;
  /**
   * Thread blocks per SM the GEMM tiles run with: 2 (default: registers capped at 128, operands staged with cp.async,
   * twice the warps to hide memory latency with) or 1 (up to 255 registers a thread, staged through registers).
   * Measured in bench/kge-gpu; docs/benchmarks.md.
   */
  gemmBlocks?: 1 | 2;
  /**
   * How the tensor-core GEMM tiles stage their operands: element (default: 4-byte copies into a K-major layout) or
   * chunk (16-byte copies, operands kept as they lie in memory, three K-steps in flight; needs d and k multiples of
   * 4, else element; 110,592 bytes of shared memory per block, so one block per SM where an SM has less than twice
   * that, e.g. sm_80, and refused by name where a block cannot have it, e.g. sm_86), or wgmma (chunk's staging, B
   * split into TF32 parts once per K-step, Hopper's warpgroup wgmma.mma_async; compute capability 9.0 only, refused
   * by name elsewhere), or stationary (wgmma, with M_r kept split in shared memory while a block, one per SM, runs a
   * contiguous range of P's and ∂x's tiles, so that those two GEMMs stage and split only the rows; entityDim and relDim
   * up to 128 for it, else wgmma's per-tile B; compute capability 9.0 only). chunk, wgmma and stationary are opt-in
   * until bench/kge-gpu has measured them on a GPU. Ignored with gemm simt.
   */
  gemmTile?: CudaGemmTile;
  /**
   * direct (default) or gram (CudaProjectedDistance). gram applies to TransR/TransRA with independent negatives, the
   * L2 norm, entityDim a multiple of 4 up to 128, and a loss kernel's shared memory ((d + 1 + k + 24·negatives) floats)
   * the device allows; elsewhere direct runs (trainRun's result says which ran). gram is opt-in until bench/kge-gpu has
   * measured it on a GPU.
   */
  projectedDistance?: CudaProjectedDistance;
  /** element (default) or vector (CudaSharedLoss); vector is opt-in until bench/kge-gpu has timed it on a GPU. */
  sharedLoss?: CudaSharedLoss;
  /** copy (default) or mapped (CudaStaging); mapped is opt-in until bench/kge-gpu has timed it on a GPU. */
  staging?: CudaStaging;
}

export interface CudaRunResult {
  placement: 'resident' | 'hybrid';
  hotRows: number;
  syncInSeconds: number;
  stepSeconds: number;
  syncOutSeconds: number;
  /** The copy in was skipped: the previous run kept its tables on the device (TrainRun.keepOnDevice). */
  reusedDeviceTables: boolean;
  /** The form the steps ran in (options.projectedDistance; direct where gram does not apply). */
  projectedDistance: CudaProjectedDistance;
  /** Device bytes this run needs with every entity row resident: placement auto goes hybrid when they exceed the
   * memory budget (options.memoryBudget, default 90% of free device memory). */
  residentBytes: number;
  /** The tile the projection GEMMs ran as (options.gemmTile where it applies, else element); none for TransE. */
  gemmTile: CudaGemmTile | 'none';
  /** How the shared-negatives loss kernel read its rows (options.sharedLoss where it applies); none where that kernel
   * does not run (independent negatives, L1, or shapes beyond its shared memory). */
  sharedLoss: CudaSharedLoss | 'none';
  /** How the hybrid placement's batches moved their rows (options.staging; mixed: some tables mapped, the smaller
   * ones copied; copy where page-locking was refused or ADKG_CUDA_PIN=0); none for a resident run. */
  staging: CudaStaging | 'mixed' | 'none';
}

export interface CudaEngineHandle extends EngineHandle {
  trainRun(heads: Int32Array, relations: Int32Array, tails: Int32Array, epoch: number, offset: number, batchSize: number, firstStep: number, losses: Float64Array, keepOnDevice: boolean): Promise<CudaRunResult>;
}

export interface CudaDeviceInfo {
  ok: boolean;
  reason?: string;
  device?: string;
  computeCapability?: string;
  memoryBytes?: number;
}

export interface CudaAddon {
  info(): CudaDeviceInfo;
  CudaEngine: new (config: EngineConfig, tables: object, optimizer: object, sampling: object, options: CudaEngineOptions) => CudaEngineHandle;
}

/** Where the addon is looked for; ADKG_CUDA_ADDON overrides it (tests use it to simulate a missing build, and to load the
 * host-emulation build, cuda/build/Emulation, which runs the engine on the CPU for tests). */
export function cudaAddonPath(): string {
  if (process.env.ADKG_CUDA_ADDON) return path.resolve(process.env.ADKG_CUDA_ADDON);
  let dir = __dirname;
  for (let i = 0; i < 8 && !fs.existsSync(path.join(dir, 'package.json')); i++) dir = path.dirname(dir);
  return path.join(dir, 'cuda', 'build', 'Release', 'adkg_cuda.node');
}

let cached: { addon: CudaAddon; info: CudaDeviceInfo } | { error: string } | null = null;
let cachedFor: string | null = null;

function tryLoad(): { addon: CudaAddon; info: CudaDeviceInfo } | { error: string } {
  const file = cudaAddonPath();
  if (cached && cachedFor === file) return cached;
  cachedFor = file;
  if (!fs.existsSync(file)) {
    cached = { error: `cuda backend unavailable: the addon ${file} is not built (run node cuda/build.js on a machine with nvcc)` };
    return cached;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(file) as CudaAddon;
    cached = { addon, info: addon.info() };
  } catch (e) {
    cached = { error: `cuda backend unavailable: ${file} does not load (${(e as Error).message.split('\n')[0]}); rebuild with node cuda/build.js` };
  }
  return cached;
}

/** Why the cuda backend cannot run here ("cuda backend unavailable: <why>"), or null when it can. */
export function cudaUnavailableReason(): string | null {
  const r = tryLoad();
  if ('error' in r) return r.error;
  return r.info.ok ? null : `cuda backend unavailable: ${r.info.reason}`;
}

/** What the addon says about the device, or null when the addon is not there. */
export function cudaDeviceInfo(): CudaDeviceInfo | null {
  const r = tryLoad();
  return 'error' in r ? null : r.info;
}

/** The addon with a usable device, or an Error "cuda backend unavailable: <why>". */
export function loadCudaAddon(): CudaAddon {
  const r = tryLoad();
  if ('error' in r) throw new Error(r.error);
  if (!r.info.ok) throw new Error(`cuda backend unavailable: ${r.info.reason}`);
  return r.addon;
}
