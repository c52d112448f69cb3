/**
 * The native backend: the C++ engine of native/ (N-API addon) behind KgeBackend. It follows
 * backend.ts exactly like the js reference, in float32, multithreaded, on the JS-owned tables in place.
 */
import * as os from 'os';
import type {
  Availability, BackendFactory, BackendInit, Gradients, KgeBackend, NegativeSample, ScoreQueries, TrainBatch,
} from '../backend';
import { addonUnavailableReason, loadAddon, type NativeEngineConfig, type NativeEngineHandle } from './addon';

const MODEL = { transe: 0, transr: 1, transra: 2 } as const;
const LOSS = { margin: 0, softplus: 1 } as const;
const NORM = { l1: 1, l2: 2 } as const;
const SAMPLING = { independent: 0, shared: 1 } as const;
const CORRUPTION = { uniform: 0, bernoulli: 1, typed: 2 } as const;
const OPTIMIZER = { adagrad: 0, adam: 1 } as const;

function engineConfig(init: BackendInit): NativeEngineConfig {
  const { shape } = init.tables;
  const c = init.config;
  return {
    model: MODEL[shape.model],
    numEntities: shape.numEntities,
    numRelations: shape.numRelations,
    dim: shape.dim,
    relDim: shape.relDim,
    numAnchors: shape.numAnchors,
    anchorsPerEntity: shape.anchorsPerEntity,
    loss: LOSS[c.loss],
    norm: NORM[c.norm],
    margin: c.margin,
    adversarialTemperature: c.adversarialTemperature,
    negatives: c.negatives,
    sampling: SAMPLING[c.sampling],
    chunkSize: c.chunkSize,
    corruption: CORRUPTION[c.corruption],
    entityOptimizer: OPTIMIZER[c.entityOptimizer],
    relationOptimizer: OPTIMIZER[c.relationOptimizer],
    lr: c.lr,
    relationLr: c.relationLr,
    unitBall: c.constraint === 'unit-ball' ? 1 : 0,
    learnAnchorWeights: c.learnAnchorWeights ? 1 : 0,
    seed: c.seed >>> 0,
    threads: c.threads > 0 ? c.threads : os.availableParallelism(),
  };
}

export class NativeBackend implements KgeBackend {
  readonly name = 'native' as const;
  private engine: NativeEngineHandle | null;
  private readonly init: BackendInit;

  constructor(init: BackendInit) {
    this.init = init;
    const addon = loadAddon();
    const t = init.tables;
    const tables = {
      entity: t.entity, relation: t.relation, projection: t.projection ?? undefined, anchor: t.anchor ?? undefined,
      anchorOf: t.anchorOf ?? undefined, anchorLogit: t.anchorLogit ?? undefined,
    };
    this.engine = new addon.NativeEngine(engineConfig(init), tables, init.optimizer, init.sampling);
  }

  private get handle(): NativeEngineHandle {
    if (!this.engine) throw new Error('native backend: used after dispose()');
    return this.engine;
  }

  trainBatch(batch: TrainBatch): Promise<number> {
    return this.handle.trainBatch(batch.heads, batch.relations, batch.tails, batch.epoch, batch.offset, batch.step);
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

export const nativeBackendFactory: BackendFactory = {
  name: 'native',
  available(): Availability {
    const reason = addonUnavailableReason();
    return reason ? { ok: false, reason } : { ok: true };
  },
  create(init: BackendInit): KgeBackend {
    return new NativeBackend(init);
  },
};
