/**
 * Facet 2: user–pin contrastive two-tower pretraining (arXiv:2508.05700, 2509.04337). Positives are
 * the training days' clicks; the other pins of the batch are the negatives, and each logit is
 * corrected by −log q(pin), q the pin's share of positives, so popular pins are not over-penalised
 * for appearing as negatives more often (logQ correction). Towers are embedding tables (LidTables
 * with row-wise Adagrad); the result initialises the ranking model's facet-2 tables.
 */
import { SeededRandom } from '../../common/rng';
import { ImpressionColumns } from '../data/impressions';
import { LidTable } from '../tables/lid-table';

export interface ContrastiveOptions {
  dim?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  temperature?: number;
  seed?: number;
}

export interface ContrastiveFacet {
  dim: number;
  /** [users.size × dim], row = user code */
  userVectors: Float32Array;
  /** [pins.size × dim], row = pin code */
  pinVectors: Float32Array;
  pairs: number;
  /** Mean in-batch softmax loss per epoch (falls as it learns). */
  epochLoss: number[];
}

/** Sums duplicate rows' gradients so each table row is updated once per batch. */
function accumulate(rows: number[], grads: Float32Array, dim: number): { unique: number[]; summed: Float32Array } {
  const pos = new Map<number, number>();
  const unique: number[] = [];
  for (const r of rows) if (!pos.has(r)) (pos.set(r, unique.length), unique.push(r));
  const summed = new Float32Array(unique.length * dim);
  rows.forEach((r, i) => {
    const o = pos.get(r)! * dim;
    for (let k = 0; k < dim; k++) summed[o + k] += grads[i * dim + k];
  });
  return { unique, summed };
}

export function pretrainUserPinContrastive(cols: ImpressionColumns, train: Int32Array, opts: ContrastiveOptions = {}): ContrastiveFacet {
  const dim = opts.dim ?? 32;
  const epochs = opts.epochs ?? 3;
  const B = opts.batchSize ?? 256;
  const tau = opts.temperature ?? 1;
  const rng = new SeededRandom(opts.seed ?? 7);
  const pairsUser: number[] = [];
  const pairsPin: number[] = [];
  for (const i of train) if (cols.click[i] === 1) (pairsUser.push(cols.user[i]), pairsPin.push(cols.pin[i]));
  const P = pairsUser.length;
  const pinCount = new Float64Array(cols.pins.size);
  for (const p of pairsPin) pinCount[p]++;
  const logQ = new Float64Array(cols.pins.size);
  for (let p = 0; p < logQ.length; p++) logQ[p] = Math.log(Math.max(pinCount[p], 0.5) / Math.max(P, 1));
  const optimizer = { kind: 'adagrad' as const, learningRate: opts.learningRate ?? 0.05 };
  const users = new LidTable({ name: 'facet2_user', rows: Math.max(1, cols.users.size), dim, initStd: 0.1, seed: 11, optimizer });
  const pins = new LidTable({ name: 'facet2_pin', rows: Math.max(1, cols.pins.size), dim, initStd: 0.1, seed: 12, optimizer });
  const epochLoss: number[] = [];
  const order = Int32Array.from({ length: P }, (_, i) => i);
  for (let e = 0; e < epochs && P > 1; e++) {
    rng.shuffle(order);
    let lossSum = 0;
    let lossN = 0;
    for (let s = 0; s + 1 < P; s += B) {
      const idx = order.subarray(s, Math.min(P, s + B));
      const b = idx.length;
      const uRows = Array.from(idx, (i) => pairsUser[i]);
      const pRows = Array.from(idx, (i) => pairsPin[i]);
      const U = users.gather(uRows);
      const V = pins.gather(pRows);
      const G = new Float64Array(b * b); // dLoss/dlogit
      const logits = new Float64Array(b);
      for (let i = 0; i < b; i++) {
        let max = -Infinity;
        for (let j = 0; j < b; j++) {
          // Another copy of the same pin is not a negative for this row.
          if (j !== i && pRows[j] === pRows[i]) {
            logits[j] = -Infinity;
            continue;
          }
          let dot = 0;
          for (let k = 0; k < dim; k++) dot += U[i * dim + k] * V[j * dim + k];
          logits[j] = dot / tau - logQ[pRows[j]];
          if (logits[j] > max) max = logits[j];
        }
        let z = 0;
        for (let j = 0; j < b; j++) z += Math.exp(logits[j] - max);
        lossSum += -(logits[i] - max - Math.log(z));
        lossN++;
        for (let j = 0; j < b; j++) G[i * b + j] = (Math.exp(logits[j] - max) / z - (i === j ? 1 : 0)) / b;
      }
      const gU = new Float32Array(b * dim);
      const gV = new Float32Array(b * dim);
      for (let i = 0; i < b; i++) {
        for (let j = 0; j < b; j++) {
          const g = G[i * b + j] / tau;
          if (g === 0) continue;
          for (let k = 0; k < dim; k++) {
            gU[i * dim + k] += g * V[j * dim + k];
            gV[j * dim + k] += g * U[i * dim + k];
          }
        }
      }
      const au = accumulate(uRows, gU, dim);
      users.applyGradients(au.unique, au.summed);
      const ap = accumulate(pRows, gV, dim);
      pins.applyGradients(ap.unique, ap.summed);
    }
    epochLoss.push(lossN ? lossSum / lossN : NaN);
  }
  // Ids without a training click were never trained: they get zeros ("no signal"), not their random init.
  const trainedOnly = (table: LidTable, size: number, seen: number[]) => {
    const has = new Uint8Array(size);
    for (const c of seen) has[c] = 1;
    const out = new Float32Array(size * dim);
    for (let c = 0; c < size; c++) if (has[c]) out.set(table.row(c), c * dim);
    return out;
  };
  const userVectors = trainedOnly(users, cols.users.size, P > 1 ? pairsUser : []);
  const pinVectors = trainedOnly(pins, cols.pins.size, P > 1 ? pairsPin : []);
  return { dim, userVectors, pinVectors, pairs: P, epochLoss };
}
