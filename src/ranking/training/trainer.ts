/**
 * Training and evaluation of one variant. Per batch: each table's distinct rows are gathered once
 * (sparse arch, plain JS), handed to tfjs as a per-batch variable, the loss's gradients are taken
 * with respect to the dense variables and those gathered rows together, the dense optimizer (Adam)
 * steps the towers and each table's row-wise optimizer steps only its gathered rows.
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../common/rng';
import { RankingModel, Slot } from '../ranking-model';
import { RankingContext } from './context';
import { DenseAverage } from './dense-average';

export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
  denseLearningRate?: number;
  /**
   * Decay of the exponential moving average of the dense weights (Polyak averaging); the trained model holds
   * the averages. The CVR tower learns from a few hundred conversions, and its last Adam steps move the
   * weights by as much as seed to seed: on the default simulated world, 0.99 cut the attention variant's CVR AUC
   * spread over six seeds from ±0.0054 to ±0.0021 (docs/benchmarks.md). Default 0.99; 0 turns it off.
   * The sparse tables are not averaged: each row is touched by a few steps only.
   */
  emaDecay?: number;
  /**
   * Probability that a training impression is shown to the model as a cold-start user's: its user-knowledge
   * slots (KGE and facet-2 user rows, click history; Slot.userKnowledge) come in as zeros and get no gradient.
   * A user with a handful of impressions has no KGE vector (kgeMinImpressions), no facet-2 vector and no
   * history, a state the towers otherwise never see in training: without this, the KGE variants ranked sparse
   * users' impressions far worse than ids did on every simulated world (DropoutNet's remedy; docs/benchmarks.md).
   * Default 0.1; 0 turns it off. Variants without such slots (ids) are unaffected.
   */
  coldStartDropout?: number;
  seed?: number;
  /** Called after each batch with samples done and total (progress bars). */
  onProgress?: (done: number, total: number) => void;
}

export interface TrainStats {
  trainSamples: number;
  seconds: number;
  samplesPerSecond: number;
  /** Where the time went: sparse gather/update (JS) vs the tfjs dense forward/backward/step. */
  profile: { sparseMs: number; denseMs: number };
  lossPerEpoch: number[];
}

interface SparseBatch {
  /** Slot tensors by name; `name:mask` [B, width] for sequence slots (1 = a real row); the model's dense inputs. */
  lookup: (name: string) => tf.Tensor;
  /** Per slot of a trainable table: the looked-up rows (−1 = padding) and the tensor they were passed in as. */
  trainable: { slot: Slot; rows: Int32Array; value: tf.Variable }[];
  tensors: tf.Tensor[];
}

/**
 * Looks up each slot's rows in JS and passes them to tfjs as a tensor ([B, d] or [B, width, d]);
 * for training, as a variable, so the gradient with respect to exactly those rows comes back.
 * (Gathering inside the graph would need UnsortedSegmentSum for the backward pass, which the wasm
 * backend does not have; summing duplicate rows in JS is cheap.)
 */
function sparseBatch(model: RankingModel, idx: Int32Array, forTraining: boolean, cold: Uint8Array | null = null): SparseBatch {
  const B = idx.length;
  const refs = new Map<string, tf.Tensor>();
  const trainable: SparseBatch['trainable'] = [];
  const tensors: tf.Tensor[] = [];
  for (const s of model.slots) {
    const w = s.width;
    const d = s.table.dim;
    const rows = new Int32Array(B * w);
    const drop = cold !== null && s.userKnowledge;
    for (let b = 0; b < B; b++) for (let k = 0; k < w; k++) rows[b * w + k] = drop && cold[b] ? -1 : s.rows[idx[b] * w + k];
    const values = new Float32Array(B * w * d);
    const buf = new Float32Array(d);
    for (let j = 0; j < rows.length; j++) if (rows[j] >= 0) values.set(s.table.gather([rows[j]], buf), j * d); // padding stays zero
    const shape = s.sequence ? [B, w, d] : [B, d];
    const t = tf.tensor(values, shape);
    if (forTraining && !s.table.frozen) {
      const v = tf.variable(t, true);
      t.dispose();
      trainable.push({ slot: s, rows, value: v });
      refs.set(s.name, v);
    } else {
      tensors.push(t);
      refs.set(s.name, t);
    }
    if (s.sequence) {
      const mask = tf.tensor2d(Float32Array.from(rows, (r) => (r >= 0 ? 1 : 0)), [B, w]);
      tensors.push(mask);
      refs.set(`${s.name}:mask`, mask);
    }
  }
  for (const input of model.inputs) {
    const w = input.shape.reduce((a, x) => a * x, 1);
    const values = new Float32Array(B * w);
    for (let b = 0; b < B; b++) values.set(input.data.subarray(idx[b] * w, (idx[b] + 1) * w), b * w);
    const t = tf.tensor(values, [B, ...input.shape]);
    tensors.push(t);
    refs.set(input.name, t);
  }
  const lookup = (name: string) => {
    const t = refs.get(name);
    if (!t) throw new Error(`model asked for ${name}, which this variant does not have`);
    return t;
  };
  return { lookup, trainable, tensors };
}

/** Sums each table's gradients over its slots and duplicate rows, then steps only those rows. */
function applySparseGradients(trainable: SparseBatch['trainable'], grads: Record<string, tf.Tensor>): void {
  const byTable = new Map<Slot['table'], { pos: Map<number, number>; rows: number[]; sums: number[][] }>();
  for (const tr of trainable) {
    const g = grads[tr.value.name];
    if (!g) continue;
    const data = g.dataSync() as Float32Array;
    const table = tr.slot.table;
    const d = table.dim;
    let acc = byTable.get(table);
    if (!acc) byTable.set(table, (acc = { pos: new Map(), rows: [], sums: [] }));
    for (let j = 0; j < tr.rows.length; j++) {
      const r = tr.rows[j];
      if (r < 0) continue;
      let p = acc.pos.get(r);
      if (p === undefined) (p = acc.rows.length), acc.pos.set(r, p), acc.rows.push(r), acc.sums.push(new Array(d).fill(0));
      const sum = acc.sums[p];
      for (let k = 0; k < d; k++) sum[k] += data[j * d + k];
    }
  }
  for (const [table, acc] of byTable) {
    const d = table.dim;
    const flat = new Float32Array(acc.rows.length * d);
    acc.sums.forEach((s, i) => flat.set(s, i * d));
    table.applyGradients(acc.rows, flat);
  }
}

function labels(ctx: RankingContext, idx: Int32Array): { click: tf.Tensor1D; conversion: tf.Tensor1D } {
  const c = new Float32Array(idx.length);
  const v = new Float32Array(idx.length);
  idx.forEach((i, b) => ((c[b] = ctx.cols.click[i]), (v[b] = ctx.cols.conversion[i])));
  return { click: tf.tensor1d(c), conversion: tf.tensor1d(v) };
}

export function trainModel(model: RankingModel, ctx: RankingContext, opts: TrainOptions = {}): TrainStats {
  const epochs = opts.epochs ?? 2;
  const B = opts.batchSize ?? 512;
  const rng = new SeededRandom(opts.seed ?? 3);
  const optimizer = tf.train.adam(opts.denseLearningRate ?? 0.003);
  const dense = model.denseVariables;
  const order = Int32Array.from(ctx.split.train);
  const total = order.length * epochs;
  let sparseMs = 0;
  let denseMs = 0;
  let done = 0;
  const lossPerEpoch: number[] = [];
  const average = new DenseAverage(dense, opts.emaDecay ?? 0.99);
  const coldP = opts.coldStartDropout ?? 0.1;
  if (!(coldP >= 0 && coldP < 1)) throw new Error(`coldStartDropout must be in [0, 1), got ${coldP}`);
  // Its own stream, so the shuffles are the same with or without it.
  const coldRng = coldP > 0 && model.slots.some((s) => s.userKnowledge) ? new SeededRandom((opts.seed ?? 3) ^ 0x5bd1e995) : null;
  const cold = new Uint8Array(B);
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    rng.shuffle(order);
    let lossSum = 0;
    let batches = 0;
    for (let s = 0; s < order.length; s += B) {
      const idx = order.subarray(s, Math.min(order.length, s + B));
      let t = performance.now();
      if (coldRng) for (let b = 0; b < idx.length; b++) cold[b] = coldRng.next() < coldP ? 1 : 0;
      const batch = sparseBatch(model, idx, true, coldRng ? cold : null);
      const y = labels(ctx, idx);
      sparseMs += performance.now() - t;
      t = performance.now();
      const { value, grads } = tf.variableGrads(() => {
        const { ctrLogit, cvrLogit } = model.forward(batch.lookup);
        return model.heads.loss(ctrLogit, cvrLogit, y.click, y.conversion);
      }, [...dense, ...batch.trainable.map((t) => t.value)]);
      const denseGrads: Record<string, tf.Tensor> = {};
      for (const v of dense) if (grads[v.name]) denseGrads[v.name] = grads[v.name];
      optimizer.applyGradients(denseGrads as Parameters<typeof optimizer.applyGradients>[0]);
      average.update();
      lossSum += value.dataSync()[0];
      batches++;
      for (const tr of batch.trainable) grads[tr.value.name]?.dataSync(); // wait for the backward pass here, so denseMs holds it
      denseMs += performance.now() - t;
      t = performance.now();
      applySparseGradients(batch.trainable, grads);
      sparseMs += performance.now() - t;
      tf.dispose([value, ...Object.values(grads), ...batch.tensors, ...batch.trainable.map((t) => t.value), y.click, y.conversion]);
      done += idx.length;
      opts.onProgress?.(done, total);
    }
    lossPerEpoch.push(lossSum / Math.max(1, batches));
  }
  optimizer.dispose();
  average.assignToWeights();
  const seconds = (performance.now() - t0) / 1000;
  return { trainSamples: total, seconds, samplesPerSecond: total / seconds, profile: { sparseMs, denseMs }, lossPerEpoch };
}

/** Predicted pCTR and pCVR (conversion given click) for the given impressions. */
export function predict(model: RankingModel, ctx: RankingContext, indices: Int32Array, batchSize = 2048): { pCtr: Float32Array; pCvr: Float32Array } {
  const pCtr = new Float32Array(indices.length);
  const pCvr = new Float32Array(indices.length);
  for (let s = 0; s < indices.length; s += batchSize) {
    const idx = indices.subarray(s, Math.min(indices.length, s + batchSize));
    const batch = sparseBatch(model, idx, false);
    const [a, b] = tf.tidy(() => {
      const { ctrLogit, cvrLogit } = model.forward(batch.lookup);
      return [tf.sigmoid(ctrLogit), tf.sigmoid(cvrLogit)];
    });
    pCtr.set(a.dataSync() as Float32Array, s);
    pCvr.set(b.dataSync() as Float32Array, s);
    tf.dispose([a, b, ...batch.tensors]);
  }
  return { pCtr, pCvr };
}
