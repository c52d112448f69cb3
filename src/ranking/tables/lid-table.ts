/**
 * LidTable: a large ID embedding table, row-sparse. Rows live in lazily allocated pages, so a table
 * of many GB costs only the pages its ids touch; a step reads (gather) and writes (applyGradients)
 * only the rows of the batch. Initial values are a counter-based function of (seed, row, column):
 * a page allocated late holds the same numbers as one allocated early.
 */
import { counterFloat } from '../../common/rng';
import { PagedRows, RowOptimizer, RowOptimizerConfig } from './row-optimizer';

export interface LidTableConfig {
  name: string;
  rows: number;
  dim: number;
  /** Standard deviation of the initial values (uniform in ±std·√3); 0 for zeros. */
  initStd?: number;
  seed?: number;
  optimizer: RowOptimizerConfig;
  /** Rows per page (default 16384). */
  pageRows?: number;
  /** A frozen table ignores gradients (KGE concatenated as a fixed feature). */
  frozen?: boolean;
}

export class LidTable {
  readonly name: string;
  readonly rows: number;
  readonly dim: number;
  readonly frozen: boolean;
  readonly optimizer: RowOptimizer;
  private readonly data: PagedRows;
  /** Row reads and writes since creation: the touched-rows-only contract is tested on these and on the values. */
  rowsRead = 0;
  rowsWritten = 0;

  constructor(cfg: LidTableConfig) {
    if (!Number.isInteger(cfg.rows) || cfg.rows <= 0) throw new Error(`table ${cfg.name}: rows must be a positive integer, got ${cfg.rows}`);
    if (!Number.isInteger(cfg.dim) || cfg.dim <= 0) throw new Error(`table ${cfg.name}: dim must be a positive integer, got ${cfg.dim}`);
    this.name = cfg.name;
    this.rows = cfg.rows;
    this.dim = cfg.dim;
    this.frozen = cfg.frozen ?? false;
    const pageRows = cfg.pageRows ?? 16384;
    const std = cfg.initStd ?? 0.01;
    const seed = cfg.seed ?? 1;
    const dim = cfg.dim;
    const half = std * Math.sqrt(3);
    this.data = new PagedRows(cfg.rows, dim, pageRows, (page, firstRow) => {
      if (std === 0) return;
      const n = page.length / dim;
      for (let r = 0; r < n; r++) {
        const stream = firstRow + r;
        for (let k = 0; k < dim; k++) page[r * dim + k] = (counterFloat(seed, stream, k) * 2 - 1) * half;
      }
    });
    this.optimizer = new RowOptimizer(cfg.optimizer, cfg.rows, dim, pageRows);
  }

  private check(row: number): void {
    if (!(row >= 0 && row < this.rows) || !Number.isInteger(row)) throw new Error(`table ${this.name}: row ${row} out of range [0, ${this.rows})`);
  }

  /** Copies the given rows into out (length rows.length × dim). */
  gather(rows: ArrayLike<number>, out = new Float32Array(rows.length * this.dim)): Float32Array {
    const d = this.dim;
    for (let i = 0; i < rows.length; i++) {
      this.check(rows[i]);
      const [page, off] = this.data.locate(rows[i]);
      out.set(page.subarray(off, off + d), i * d);
    }
    this.rowsRead += rows.length;
    return out;
  }

  row(row: number): Float32Array {
    return this.gather([row]);
  }

  setRow(row: number, values: ArrayLike<number>, offset = 0): void {
    this.check(row);
    const [page, off] = this.data.locate(row);
    for (let k = 0; k < this.dim; k++) page[off + k] = values[offset + k];
    this.rowsWritten++;
  }

  /**
   * One sparse step: rows must be distinct (the trainer gathers each row once per batch, so its
   * gradient is already summed over the batch's uses); grads is rows.length × dim.
   */
  applyGradients(rows: ArrayLike<number>, grads: Float32Array): void {
    if (this.frozen) return;
    const d = this.dim;
    if (grads.length !== rows.length * d) throw new Error(`table ${this.name}: ${grads.length} gradient values for ${rows.length} rows of dim ${d}`);
    for (let i = 0; i < rows.length; i++) {
      this.check(rows[i]);
      const [page, off] = this.data.locate(rows[i]);
      this.optimizer.step(page, off, grads, i * d, d, rows[i]);
    }
    this.rowsWritten += rows.length;
  }

  /** Logical size of the values if fully allocated. */
  logicalBytes(): number {
    return this.rows * this.dim * 4;
  }
  allocatedBytes(): number {
    return this.data.allocatedBytes() + this.optimizer.stateBytes();
  }
  allocatedPages(): number {
    return this.data.allocatedPages();
  }
  materialize(): void {
    this.data.materialize();
  }
}
