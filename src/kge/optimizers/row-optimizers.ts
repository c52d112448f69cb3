/**
 * Row-wise optimizers (backend.ts, "Update of one batch"): they step only the rows a batch touched,
 * reading and writing only those rows of the table and of its slots.
 */
import type { OptimizerName, OptimizerSlots } from '../backends/backend';
import type { RowGradients } from './row-gradients';

export const ADAGRAD_EPS = 1e-10;
export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPS = 1e-8;

/** Slots for a table of `size` floats. */
export function createSlots(optimizer: OptimizerName, size: number): OptimizerSlots {
  return { s1: new Float32Array(size), s2: optimizer === 'adam' ? new Float32Array(size) : null };
}

/** Steps every touched row of `table` with gradients `grads` (rows ascending). step is 1-based (Adam). */
export function stepRows(optimizer: OptimizerName, table: Float32Array, slots: OptimizerSlots, grads: RowGradients, lr: number, step: number): void {
  const cols = grads.cols;
  const vals = grads.values;
  const s1 = slots.s1;
  const order = grads.sortedSlots();
  if (optimizer === 'adagrad') {
    for (const s of order) {
      const base = grads.row(s) * cols;
      for (let i = 0; i < cols; i++) {
        const g = vals[s * cols + i];
        const acc = s1[base + i] + g * g;
        s1[base + i] = acc;
        table[base + i] = table[base + i] - (lr * g) / (Math.sqrt(acc) + ADAGRAD_EPS);
      }
    }
    return;
  }
  const s2 = slots.s2!;
  const bc1 = 1 - Math.pow(ADAM_BETA1, step);
  const bc2 = 1 - Math.pow(ADAM_BETA2, step);
  for (const s of order) {
    const base = grads.row(s) * cols;
    for (let i = 0; i < cols; i++) {
      const g = vals[s * cols + i];
      const m = ADAM_BETA1 * s1[base + i] + (1 - ADAM_BETA1) * g;
      const v = ADAM_BETA2 * s2[base + i] + (1 - ADAM_BETA2) * g * g;
      s1[base + i] = m;
      s2[base + i] = v;
      table[base + i] = table[base + i] - (lr * (m / bc1)) / (Math.sqrt(v / bc2) + ADAM_EPS);
    }
  }
}
