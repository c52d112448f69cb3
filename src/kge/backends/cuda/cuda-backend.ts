/**
 * The cuda backend: the CUDA engine of cuda/ (N-API addon) behind KgeBackend. Per call it follows
 * backend.ts exactly like native (same negatives from the counter RNG, same update order), keeping the
 * JS tables the masters: trainBatch stages the batch's rows to the device and writes them back.
 * `trainRun` is the fast path: many consecutive batches in one call, with the tables resident on the
 * device (or the hybrid host/device placement when they do not fit), no host round trip per step.
 */
import type { Availability, BackendFactory, BackendInit, KgeBackend, TrainRun } from '../backend';
import { EngineBackend, engineConfig, engineTables } from '../engine-backend';
import { CUDA_GEMM_TILES, CUDA_GEMMS, CUDA_PROJECTED_DISTANCES, CUDA_SHARED_LOSSES, CUDA_STAGINGS, cudaUnavailableReason, loadCudaAddon, type CudaEngineHandle, type CudaEngineOptions, type CudaGemm, type CudaGemmTile, type CudaProjectedDistance, type CudaRunResult, type CudaSharedLoss, type CudaStaging } from './addon';

export interface TrainRunResult extends CudaRunResult {
  /** The loss of every batch, in order. */
  losses: Float64Array;
}

/** Engine options from the environment: ADKG_CUDA_PLACEMENT, ADKG_CUDA_MEMORY_MB, ADKG_CUDA_HOT_ROWS, ADKG_CUDA_GEMM, ADKG_CUDA_GEMM_BLOCKS, ADKG_CUDA_GEMM_TILE, ADKG_CUDA_PROJECTED_DISTANCE, ADKG_CUDA_SHARED_LOSS, ADKG_CUDA_STAGING. */
function optionsFromEnv(): CudaEngineOptions {
  const o: CudaEngineOptions = {};
  const p = process.env.ADKG_CUDA_PLACEMENT;
  if (p) {
    if (p !== 'auto' && p !== 'resident' && p !== 'hybrid') throw new Error(`ADKG_CUDA_PLACEMENT must be auto, resident or hybrid, got "${p}"`);
    o.placement = p;
  }
  const mb = process.env.ADKG_CUDA_MEMORY_MB;
  if (mb) {
    // Decimal only: Number('0x10') or Number('1e3') would pass a typo silently.
    if (!/^\d+(\.\d+)?$/.test(mb) || !(Number(mb) > 0)) throw new Error(`ADKG_CUDA_MEMORY_MB must be a number of megabytes > 0, got "${mb}"`);
    o.memoryBudget = Number(mb) * 2 ** 20;
  }
  const hot = process.env.ADKG_CUDA_HOT_ROWS;
  if (hot) {
    if (!/^\d+$/.test(hot) || !Number.isSafeInteger(Number(hot))) throw new Error(`ADKG_CUDA_HOT_ROWS must be a whole number of rows ≥ 0, got "${hot}"`);
    o.hotRows = Number(hot);
  }
  const g = process.env.ADKG_CUDA_GEMM;
  if (g) {
    if (!(CUDA_GEMMS as readonly string[]).includes(g)) throw new Error(`ADKG_CUDA_GEMM must be ${CUDA_GEMMS.join(', ')}, got "${g}"`);
    o.gemm = g as CudaGemm;
  }
  const b = process.env.ADKG_CUDA_GEMM_BLOCKS;
  if (b) {
    if (b !== '1' && b !== '2') throw new Error(`ADKG_CUDA_GEMM_BLOCKS must be 1 or 2, got "${b}"`);
    o.gemmBlocks = Number(b) as 1 | 2;
  }
  const tile = process.env.ADKG_CUDA_GEMM_TILE;
  if (tile) {
    if (!(CUDA_GEMM_TILES as readonly string[]).includes(tile)) throw new Error(`ADKG_CUDA_GEMM_TILE must be ${CUDA_GEMM_TILES.join(', ')}, got "${tile}"`);
    o.gemmTile = tile as CudaGemmTile;
  }
  const form = process.env.ADKG_CUDA_PROJECTED_DISTANCE;
  if (form) {
    if (!(CUDA_PROJECTED_DISTANCES as readonly string[]).includes(form)) throw new Error(`ADKG_CUDA_PROJECTED_DISTANCE must be ${CUDA_PROJECTED_DISTANCES.join(' or ')}, got "${form}"`);
    o.projectedDistance = form as CudaProjectedDistance;
  }
  const access = process.env.ADKG_CUDA_SHARED_LOSS;
  if (access) {
    if (!(CUDA_SHARED_LOSSES as readonly string[]).includes(access)) throw new Error(`ADKG_CUDA_SHARED_LOSS must be ${CUDA_SHARED_LOSSES.join(' or ')}, got "${access}"`);
    o.sharedLoss = access as CudaSharedLoss;
  }
  const staging = process.env.ADKG_CUDA_STAGING;
  if (staging) {
    if (!(CUDA_STAGINGS as readonly string[]).includes(staging)) throw new Error(`ADKG_CUDA_STAGING must be ${CUDA_STAGINGS.join(' or ')}, got "${staging}"`);
    o.staging = staging as CudaStaging;
  }
  return o;
}

/** The environment is read (and refused when wrong) before the addon is loaded or anything is allocated. */
function createEngine(init: BackendInit, options: CudaEngineOptions): CudaEngineHandle {
  const merged = { ...optionsFromEnv(), ...options };
  return new (loadCudaAddon().CudaEngine)(engineConfig(init), engineTables(init), init.optimizer, init.sampling, merged);
}

export class CudaBackend extends EngineBackend<CudaEngineHandle> {
  readonly name = 'cuda' as const;

  /** options: what is not given comes from ADKG_CUDA_PLACEMENT, ADKG_CUDA_MEMORY_MB, ADKG_CUDA_HOT_ROWS, ADKG_CUDA_GEMM, ADKG_CUDA_GEMM_BLOCKS, ADKG_CUDA_GEMM_TILE, ADKG_CUDA_PROJECTED_DISTANCE, ADKG_CUDA_SHARED_LOSS, ADKG_CUDA_STAGING. */
  constructor(init: BackendInit, options: CudaEngineOptions = {}) {
    super(init, createEngine(init, options));
  }

  /** Many batches in one call, the fast path (same results as trainBatch on each batch in turn). */
  async trainRun(run: TrainRun): Promise<TrainRunResult> {
    const batches = Math.ceil(run.heads.length / run.batchSize);
    const losses = new Float64Array(batches);
    const r = await this.handle.trainRun(run.heads, run.relations, run.tails, run.epoch, run.offset, run.batchSize, run.firstStep, losses, run.keepOnDevice ?? false);
    return { ...r, losses };
  }
}

export const cudaBackendFactory: BackendFactory = {
  name: 'cuda',
  available(): Availability {
    const reason = cudaUnavailableReason();
    return reason ? { ok: false, reason } : { ok: true };
  },
  create(init: BackendInit): KgeBackend {
    return new CudaBackend(init);
  },
};
