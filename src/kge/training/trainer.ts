/**
 * The training loop: epochs of seeded permutations cut into batches, each handed to a backend that
 * samples, scores and updates in one call; a checkpoint after every epoch; resume from it gives the
 * same result as an uninterrupted run (all randomness is counter-based on seed and epoch).
 */
import * as path from 'path';
import type { AnchorIndex } from '../../common/anchor-index';
import type { EntityEntry, TripleArrays } from '../../common/triple-set';
import type { BackendName, KgeBackend, ModelName, ModelTables, OptimizerState, TrainBatch, TrainConfig } from '../backends/backend';
import { RNG_PURPOSE } from '../backends/backend';
import { createBackend } from '../backends/registry';
import { allocateTables, createOptimizerState, defaultInitScale, initializeTables } from '../model';
import { buildSamplingTables } from '../sampling/sampling-tables';
import { epochPermutation, relationChunkedOrder } from '../sampling/epoch-order';
import { FilterIndex } from '../evaluation/filter-index';
import { evaluateLinkPrediction, type LinkPredictionMetrics } from '../evaluation/link-prediction';
import { progressBar } from '../progress';
import { checkpointExists, loadCheckpoint, saveCheckpoint } from './checkpoint';

export interface KgeDataset {
  entities: readonly EntityEntry[];
  relations: readonly string[];
  train: TripleArrays;
  valid?: TripleArrays;
  test?: TripleArrays;
  /** Required for TransRA. */
  anchorIndex?: AnchorIndex | null;
}

export interface TrainerOptions {
  model: ModelName;
  dim: number;
  relDim: number;
  epochs: number;
  batchSize: number;
  config: TrainConfig;
  backend: BackendName;
  /** Uniform init range; default from the loss (see defaultInitScale). */
  initScale?: number;
  /** Valid triples (seeded sample) ranked after each epoch; 0 = no per-epoch validation. */
  validSample?: number;
  /** Rank among entities of the right type. */
  typedEvaluation?: boolean;
  /** Directory for the per-epoch checkpoint (e.g. OUT/checkpoint); none = no checkpoints. */
  checkpointDir?: string;
  /** Continue from checkpointDir when it holds a checkpoint. */
  resume?: boolean;
  /** One line per epoch and notices. */
  log?: (line: string) => void;
  /** Progress bars (default: stderr is a TTY). */
  progress?: boolean;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  validMrr?: number;
}

interface TrainerState {
  epochsDone: number;
  step: number;
  trainSeconds: number;
  positives: number;
  history: EpochRecord[];
  /** The options that shape the result; resume refuses a checkpoint made with others. */
  fingerprint: Record<string, unknown>;
}

export interface TrainedModel {
  tables: ModelTables;
  optimizer: OptimizerState;
  /** Live backend for evaluation; call dispose() when done. */
  backend: KgeBackend;
  history: EpochRecord[];
  /** Seconds spent in training batches (all runs, resumed ones included). */
  trainSeconds: number;
  /** Positive triples processed. */
  positives: number;
  resumedFromEpoch: number | null;
  filter: FilterIndex;
  entityType: Int32Array;
}

function fingerprint(o: TrainerOptions, data: KgeDataset): Record<string, unknown> {
  const { threads: _threads, ...config } = o.config;
  return { model: o.model, dim: o.dim, relDim: o.relDim, batchSize: o.batchSize, config, initScale: o.initScale ?? null, entities: data.entities.length, relations: data.relations.length, train: data.train.heads.length };
}

/** What differs between a checkpoint's fingerprint and this run's: "dim 8 → 16", "config.lr 0.01 → 0.05". */
export function fingerprintChanges(then: Record<string, unknown>, now: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(then), ...Object.keys(now)])].sort()) {
    const a = then[k], b = now[k];
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (isObj(a) && isObj(b)) out.push(...fingerprintChanges(a, b, `${prefix}${k}.`));
    else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${prefix}${k} ${JSON.stringify(a) ?? 'unset'} → ${JSON.stringify(b) ?? 'unset'}`);
  }
  return out;
}

function validateOptions(o: TrainerOptions, data: KgeDataset): void {
  const c = o.config;
  if (o.model === 'transra' && !data.anchorIndex) throw new Error('TransRA needs an anchor index (KgeDataset.anchorIndex)');
  if (!(o.dim > 0 && o.relDim > 0)) throw new Error(`dimensions must be positive (dim ${o.dim}, relDim ${o.relDim})`);
  if (!(o.batchSize > 0)) throw new Error(`batch size must be positive, got ${o.batchSize}`);
  if (!(c.negatives > 0)) throw new Error(`negatives must be positive, got ${c.negatives}`);
  if (c.sampling === 'shared' && (c.chunkSize <= 0 || o.batchSize % c.chunkSize !== 0)) {
    throw new Error(`shared negatives need a batch size (${o.batchSize}) that is a multiple of the chunk size (${c.chunkSize})`);
  }
  if (data.train.heads.length === 0) throw new Error('the training split is empty');
}

/** A seeded sample of up to `n` triples (the same every epoch). */
export function sampleTriples(t: TripleArrays, n: number, seed: number): TripleArrays {
  if (t.heads.length <= n) return t;
  const perm = epochPermutation(t.heads.length, seed, 0);
  const idx = perm.subarray(0, n);
  return {
    heads: Int32Array.from(idx, (i) => t.heads[i]),
    relations: Int32Array.from(idx, (i) => t.relations[i]),
    tails: Int32Array.from(idx, (i) => t.tails[i]),
  };
}

export async function trainModel(data: KgeDataset, o: TrainerOptions): Promise<TrainedModel> {
  validateOptions(o, data);
  const log = o.log ?? (() => undefined);
  const N = data.entities.length;
  const fp = fingerprint(o, data);
  let tables: ModelTables;
  let optimizer: OptimizerState;
  let state: TrainerState;
  let resumedFromEpoch: number | null = null;
  if (o.resume && o.checkpointDir && (await checkpointExists(o.checkpointDir))) {
    const cp = await loadCheckpoint<TrainerState>(o.checkpointDir);
    const changed = fingerprintChanges(cp.state.trainer.fingerprint, fp);
    if (changed.length > 0) {
      throw new Error(`cannot resume from ${o.checkpointDir}: it was made with other settings or data (${changed.join(', ')}); ` +
        'use the same settings, or a new --out to start afresh');
    }
    ({ tables, optimizer } = cp);
    if (o.model === 'transra' && data.anchorIndex) tables.anchorIndex!.selection = data.anchorIndex.selection;
    state = cp.state.trainer;
    resumedFromEpoch = state.epochsDone;
    log(`resuming from ${o.checkpointDir} after epoch ${state.epochsDone}`);
  } else {
    tables = allocateTables({ model: o.model, numEntities: N, numRelations: data.relations.length, dim: o.dim, relDim: o.relDim, anchorIndex: data.anchorIndex });
    initializeTables(tables, o.config.seed, o.initScale ?? defaultInitScale(o.config, o.dim));
    optimizer = createOptimizerState(tables, o.config.entityOptimizer, o.config.relationOptimizer);
    state = { epochsDone: 0, step: 0, trainSeconds: 0, positives: 0, history: [], fingerprint: fp };
  }
  const sampling = buildSamplingTables(data.train, data.entities, data.relations.length);
  const backend = createBackend(o.backend, { tables, optimizer, config: o.config, sampling });
  const filter = new FilterIndex([data.train, data.valid, data.test].filter((s): s is TripleArrays => !!s), data.relations.length);
  const validSample = data.valid && (o.validSample ?? 0) > 0 ? sampleTriples(data.valid, o.validSample!, o.config.seed ^ RNG_PURPOSE.EVAL_SAMPLE) : null;
  const n = data.train.heads.length;
  const B = o.batchSize;
  const batchesPerEpoch = Math.ceil(n / B);
  const heads = new Int32Array(n), rels = new Int32Array(n), tails = new Int32Array(n);
  try {
    for (let epoch = state.epochsDone; epoch < o.epochs; epoch++) {
      const t0 = process.hrtime.bigint();
      const order = o.config.sampling === 'shared'
        ? relationChunkedOrder(data.train.relations, o.config.chunkSize, o.config.seed, epoch)
        : epochPermutation(n, o.config.seed, epoch);
      for (let i = 0; i < n; i++) {
        const j = order[i];
        heads[i] = data.train.heads[j];
        rels[i] = data.train.relations[j];
        tails[i] = data.train.tails[j];
      }
      const bar = progressBar(`epoch ${epoch + 1}/${o.epochs}`, batchesPerEpoch, o.progress);
      let lossSum = 0;
      const account = (b: number, loss: number): void => {
        const s = b * B, e = Math.min(n, s + B);
        state.step++;
        lossSum += loss * (e - s);
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at epoch ${epoch + 1}, batch ${b + 1} (try a lower --lr)`);
      };
      if (backend.trainRun) {
        // The whole epoch in one call: a device backend keeps its tables resident between the batches (the call
        // is asynchronous, so the event loop, and a queue worker's lock renewal, keep running meanwhile).
        // keepOnDevice: until the next epoch this loop is the only writer of the tables (validation and checkpoints
        // only read them). Not after the last epoch: the caller gets the tables and the backend back.
        const keepOnDevice = epoch + 1 < o.epochs;
        const { losses } = await backend.trainRun({ heads, relations: rels, tails, epoch, offset: 0, batchSize: B, firstStep: state.step + 1, keepOnDevice });
        if (losses.length !== batchesPerEpoch) throw new Error(`backend ${backend.name}: trainRun returned ${losses.length} losses for ${batchesPerEpoch} batches`);
        losses.forEach((loss, b) => account(b, loss));
        bar.update(batchesPerEpoch);
      } else {
        for (let b = 0; b < batchesPerEpoch; b++) {
          const s = b * B, e = Math.min(n, s + B);
          const batch: TrainBatch = { heads: heads.subarray(s, e), relations: rels.subarray(s, e), tails: tails.subarray(s, e), epoch, offset: s, step: state.step + 1 };
          account(b, await backend.trainBatch(batch));
          if ((b & 15) === 15) bar.update(b + 1);
        }
      }
      bar.stop();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      state.trainSeconds += seconds;
      state.positives += n;
      const record: EpochRecord = { epoch: epoch + 1, loss: lossSum / n, seconds };
      if (validSample) {
        const m = await evaluateLinkPrediction(backend, N, validSample, filter, { entityType: o.typedEvaluation ? sampling.entityType : undefined, progress: false });
        record.validMrr = m.mrr;
      }
      state.history.push(record);
      state.epochsDone = epoch + 1;
      log(`epoch ${record.epoch}/${o.epochs} loss ${record.loss.toFixed(5)} ${seconds.toFixed(1)}s ${(n / seconds).toFixed(0)} pos/s` +
        (record.validMrr !== undefined ? ` valid MRR(sample ${validSample!.heads.length}) ${record.validMrr.toFixed(4)}` : ''));
      if (o.checkpointDir) await saveCheckpoint(o.checkpointDir, tables, optimizer, state);
    }
  } catch (e) {
    backend.dispose();
    throw e;
  }
  return {
    tables, optimizer, backend, history: state.history, trainSeconds: state.trainSeconds, positives: state.positives,
    resumedFromEpoch, filter, entityType: sampling.entityType,
  };
}

/** Filtered metrics of a trained model on a split. */
export async function evaluateModel(m: TrainedModel, triples: TripleArrays, options: { typed?: boolean; progress?: boolean; label?: string } = {}): Promise<LinkPredictionMetrics> {
  return evaluateLinkPrediction(m.backend, m.tables.shape.numEntities, triples, m.filter, {
    entityType: options.typed ? m.entityType : undefined, progress: options.progress, label: options.label,
  });
}

export function checkpointDirOf(outDir: string): string {
  return path.join(outDir, 'checkpoint');
}
