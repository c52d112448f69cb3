/**
 * What the native (C++) and cuda backends share: both are an N-API engine object driven through the
 * same calls on the JS-owned tables, so the enum encoding of the config, the table handles and the
 * KgeBackend methods live here once. Each subclass only loads its addon and constructs its engine.
 */
import type { BackendInit, Gradients, KgeBackend, ModelShape, NegativeSample, ScoreQueries, TrainBatch } from './backend';

/**
 * The engine config both addons read: the model's shape with its name as a number, and the training config.
 * Numbers are the enums of native/src/engine.h and kernels.h.
 */
export interface EngineConfig extends Omit<ModelShape, 'model'> {
  model: number;
  loss: number;
  norm: number;
  margin: number;
  adversarialTemperature: number;
  negatives: number;
  sampling: number;
  chunkSize: number;
  corruption: number;
  entityOptimizer: number;
  relationOptimizer: number;
  lr: number;
  relationLr: number;
  unitBall: number;
  learnAnchorWeights: number;
  seed: number;
}

/** The calls every engine object answers (native/src/addon.cc, cuda/src/addon.cc). */
export interface EngineHandle {
  trainBatch(heads: Int32Array, relations: Int32Array, tails: Int32Array, epoch: number, offset: number, step: number): Promise<number>;
  gradients(
    heads: Int32Array, relations: Int32Array, tails: Int32Array, epoch: number, offset: number, step: number,
    out: Record<string, Float64Array | undefined>,
  ): Promise<number>;
  sampleNegatives(
    heads: Int32Array, relations: Int32Array, tails: Int32Array, epoch: number, offset: number, step: number,
    entities: Int32Array, corruptHead: Uint8Array,
  ): Promise<void>;
  scoreAll(side: number, known: Int32Array, relations: Int32Array, out: Float32Array): Promise<void>;
  dispose(): void;
}

const MODEL = { transe: 0, transr: 1, transra: 2 } as const;
const LOSS = { margin: 0, softplus: 1 } as const;
const NORM = { l1: 1, l2: 2 } as const;
const SAMPLING = { independent: 0, shared: 1 } as const;
const CORRUPTION = { uniform: 0, bernoulli: 1, typed: 2 } as const;
const OPTIMIZER = { adagrad: 0, adam: 1 } as const;

export function engineConfig(init: BackendInit): EngineConfig {
  const { shape } = init.tables;
  const c = init.config;
  return {
    ...shape,
    model: MODEL[shape.model],
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
  };
}

/** The parameter tables as the engines take them (absent tables as undefined, not null). */
export function engineTables(init: BackendInit): object {
  const t = init.tables;
  return {
    entity: t.entity, relation: t.relation, projection: t.projection ?? undefined, anchor: t.anchor ?? undefined,
    anchorOf: t.anchorOf ?? undefined, anchorLogit: t.anchorLogit ?? undefined,
  };
}

export abstract class EngineBackend<H extends EngineHandle> implements KgeBackend {
  abstract readonly name: KgeBackend['name'];
  protected engine: H | null;
  protected readonly init: BackendInit;

  protected constructor(init: BackendInit, engine: H) {
    this.init = init;
    this.engine = engine;
  }

  protected get handle(): H {
    if (!this.engine) throw new Error(`${this.name} backend: used after dispose()`);
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
