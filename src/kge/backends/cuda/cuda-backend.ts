/**
 * The cuda backend: the CUDA engine of cuda/ (N-API addon) behind KgeBackend. Per call it follows
 * backend.ts exactly like native (same negatives from the counter RNG, same update order), keeping the
 * JS tables the masters: trainBatch stages the batch's rows to the device and writes them back.
 * `trainRun` is the fast path: many consecutive batches in one call, with the tables resident on the
 * device (or the hybrid host/device placement when they do not fit), no host round trip per step.
 */
import type {
  Availability, BackendFactory, BackendInit, Gradients, KgeBackend, NegativeSample, ScoreQueries, TrainBatch,
} from '../backend';
import { cudaUnavailableReason, loadCudaAddon, type CudaEngineHandle, type CudaEngineOptions, type CudaRunResult } from './addon';

const MODEL = { transe: 0, transr: 1, transra: 2 } as const;
const LOSS = { margin: 0, softplus: 1 } as const;
const NORM = { l1: 1, l2: 2 } as const;
const SAMPLING = { independent: 0, shared: 1 } as const;
const CORRUPTION = { uniform: 0, bernoulli: 1, typed: 2 } as const;
const OPTIMIZER = { adagrad: 0, adam: 1 } as const;

/** Consecutive batches of one epoch for trainRun: batch i = [i·batchSize, …) with offset offset + i·batchSize, step firstStep + i. */
export interface TrainRun {
  heads: Int32Array;
  relations: Int32Array;
  tails: Int32Array;
  epoch: number;
  /** Epoch position of heads[0]. */
  offset: number;
  batchSize: number;
  /** Global 1-based optimizer step of the first batch. */
  firstStep: number;
}

export interface TrainRunResult extends CudaRunResult {
  /** The loss of every batch, in order. */
  losses: Float64Array;
}

/** Engine options from the environment: ADKG_CUDA_PLACEMENT, ADKG_CUDA_MEMORY_MB, ADKG_CUDA_HOT_ROWS. */
function optionsFromEnv(): CudaEngineOptions {
  const o: CudaEngineOptions = {};
  const p = process.env.ADKG_CUDA_PLACEMENT;
  if (p) {
    if (p !== 'auto' && p !== 'resident' && p !== 'hybrid') throw new Error(`ADKG_CUDA_PLACEMENT must be auto, resident or hybrid, got "${p}"`);
    o.placement = p;
  }
  if (process.env.ADKG_CUDA_MEMORY_MB) o.memoryBudget = Number(process.env.ADKG_CUDA_MEMORY_MB) * 2 ** 20;
  if (process.env.ADKG_CUDA_HOT_ROWS) o.hotRows = Number(process.env.ADKG_CUDA_HOT_ROWS);
  return o;
}

export class CudaBackend implements KgeBackend {
  readonly name = 'cuda' as const;
  private engine: CudaEngineHandle | null;
  private readonly init: BackendInit;

  constructor(init: BackendInit, options: CudaEngineOptions = optionsFromEnv()) {
    this.init = init;
    const addon = loadCudaAddon();
    const { shape } = init.tables;
    const c = init.config;
    const t = init.tables;
    const tables = {
      entity: t.entity, relation: t.relation, projection: t.projection ?? undefined, anchor: t.anchor ?? undefined,
      anchorOf: t.anchorOf ?? undefined, anchorLogit: t.anchorLogit ?? undefined,
    };
    const config = {
      model: MODEL[shape.model], numEntities: shape.numEntities, numRelations: shape.numRelations, dim: shape.dim,
      relDim: shape.relDim, numAnchors: shape.numAnchors, anchorsPerEntity: shape.anchorsPerEntity,
      loss: LOSS[c.loss], norm: NORM[c.norm], margin: c.margin, adversarialTemperature: c.adversarialTemperature,
      negatives: c.negatives, sampling: SAMPLING[c.sampling], chunkSize: c.chunkSize, corruption: CORRUPTION[c.corruption],
      entityOptimizer: OPTIMIZER[c.entityOptimizer], relationOptimizer: OPTIMIZER[c.relationOptimizer], lr: c.lr,
      relationLr: c.relationLr, unitBall: c.constraint === 'unit-ball' ? 1 : 0, learnAnchorWeights: c.learnAnchorWeights ? 1 : 0,
      seed: c.seed >>> 0,
    };
    this.engine = new addon.CudaEngine(config, tables, init.optimizer, init.sampling, options);
  }

  private get handle(): CudaEngineHandle {
    if (!this.engine) throw new Error('cuda backend: used after dispose()');
    return this.engine;
  }

  trainBatch(batch: TrainBatch): Promise<number> {
    return this.handle.trainBatch(batch.heads, batch.relations, batch.tails, batch.epoch, batch.offset, batch.step);
  }

  /** Many batches in one call, the fast path (same results as trainBatch on each batch in turn). */
  async trainRun(run: TrainRun): Promise<TrainRunResult> {
    const batches = Math.ceil(run.heads.length / run.batchSize);
    const losses = new Float64Array(batches);
    const r = await this.handle.trainRun(run.heads, run.relations, run.tails, run.epoch, run.offset, run.batchSize, run.firstStep, losses);
    return { ...r, losses };
  }

  async gradients(batch: TrainBatch): Promise<{ loss: number; gradients: Gradients }> {
    const { shape } = this.init.tables;
    const { numEntities: N, numRelations: R, dim: d, relDim: k } = shape;
    const out: Gradients = { entity: new Float64Array(N * d), relation: new Float64Array(R * k) };
    if (shape.model !== 'transe') out.projection = new Float64Array(R * k * d);
    if (shape.model === 'transra') {
      out.anchor = new Float64Array(shape.numAnchors * d);
      out.anchorLogit = new Float64Array(N * shape.anchorsPerEntity);
    }
    const loss = await this.handle.gradients(batch.heads, batch.relations, batch.tails, batch.epoch, batch.offset, batch.step, out);
    return { loss, gradients: out };
  }

  async sampleNegatives(batch: TrainBatch): Promise<NegativeSample> {
    const len = batch.heads.length * this.init.config.negatives;
    const entities = new Int32Array(len);
    const corruptHead = new Uint8Array(len);
    await this.handle.sampleNegatives(batch.heads, batch.relations, batch.tails, batch.epoch, batch.offset, batch.step, entities, corruptHead);
    return { entities, corruptHead };
  }

  scoreAll(queries: ScoreQueries, out: Float32Array): Promise<void> {
    const Q = queries.known.length;
    const N = this.init.tables.shape.numEntities;
    if (out.length < Q * N) return Promise.reject(new Error(`scoreAll: out has ${out.length} floats, needs ${Q}×${N}`));
    return this.handle.scoreAll(queries.side === 'tail' ? 1 : 0, queries.known, queries.relations, out);
  }

  dispose(): void {
    this.engine?.dispose();
    this.engine = null;
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
