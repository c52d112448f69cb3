/** Norm constraints after a step (TransE/TransR papers): touched rows with ‖·‖₂ > 1 are rescaled to 1. */
import type { RowGradients } from './row-gradients';

export function clampRowsToUnitBall(table: Float32Array, cols: number, touched: RowGradients): void {
  for (let s = 0; s < touched.count; s++) {
    const base = touched.row(s) * cols;
    let sq = 0;
    for (let i = 0; i < cols; i++) sq += table[base + i] * table[base + i];
    if (sq <= 1) continue;
    const f = 1 / Math.sqrt(sq);
    for (let i = 0; i < cols; i++) table[base + i] *= f;
  }
}
