/**
 * Gradients of the rows a batch touched: a row → slot map plus a growing value buffer, so a step
 * costs O(touched rows), never O(table).
 */
export class RowGradients {
  readonly cols: number;
  private readonly slotOf: Int32Array;
  private rowList: Int32Array;
  private vals: Float64Array;
  private n = 0;

  constructor(rows: number, cols: number) {
    this.cols = cols;
    this.slotOf = new Int32Array(rows).fill(-1);
    this.rowList = new Int32Array(64);
    this.vals = new Float64Array(64 * cols);
  }

  /** Number of touched rows. */
  get count(): number {
    return this.n;
  }

  /** Row index of slot s. */
  row(s: number): number {
    return this.rowList[s];
  }

  /** The value buffer: slot s occupies [s·cols, (s+1)·cols). */
  get values(): Float64Array {
    return this.vals;
  }

  /** Slot of a row, touching it (zero gradient) if new. */
  touch(row: number): number {
    let s = this.slotOf[row];
    if (s >= 0) return s;
    s = this.n++;
    if (s >= this.rowList.length) {
      const rl = new Int32Array(this.rowList.length * 2);
      rl.set(this.rowList);
      this.rowList = rl;
      const v = new Float64Array(rl.length * this.cols);
      v.set(this.vals);
      this.vals = v;
    }
    this.rowList[s] = row;
    this.slotOf[row] = s;
    this.vals.fill(0, s * this.cols, (s + 1) * this.cols);
    return s;
  }

  /** Forgets every touched row. */
  reset(): void {
    for (let s = 0; s < this.n; s++) this.slotOf[this.rowList[s]] = -1;
    this.n = 0;
  }

  /** Touched rows in ascending order (the order optimizers step them in). */
  sortedSlots(): Int32Array {
    const slots = new Int32Array(this.n);
    for (let s = 0; s < this.n; s++) slots[s] = s;
    const rows = this.rowList;
    return slots.sort((a, b) => rows[a] - rows[b]);
  }

  /** Dense copy (rows × cols) for tests. */
  toDense(rows: number): Float64Array {
    const out = new Float64Array(rows * this.cols);
    for (let s = 0; s < this.n; s++) out.set(this.vals.subarray(s * this.cols, (s + 1) * this.cols), this.rowList[s] * this.cols);
    return out;
  }
}
