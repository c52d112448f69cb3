/**
 * LidTable: a large ID embedding table, row-sparse. Rows live in lazily allocated pages, so a table
 * of many GB costs only the pages its ids touch; a step reads (gather) and writes (applyGradients)
 * only the rows of the batch. Initial values are a counter-based function of (seed, row, column):
 * a page allocated late holds the same numbers as one allocated early.
 */
import { counterFloat } from '../../common/rng';
import { RowwiseStep, nativeRowwise } from './native-rowwise';
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
  /** The native engine's addon when it steps this table's rows (native-rowwise.ts), else null: the JS step. */
  private readonly native = (() => {
    const r = nativeRowwise();
    return 'addon' in r ? r.addon : null;
  })();
  /** Scratch of the native path's grouping by page, grown as batches need. */
  private group?: { pageOfRow: Int32Array; local: Int32Array; gradIndex: Int32Array; cursor: Int32Array; touched: Int32Array };
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
    if (this.native) {
      this.applyNative(this.native, rows, grads);
    } else {
      for (let i = 0; i < rows.length; i++) {
        this.check(rows[i]);
        const [page, off] = this.data.locate(rows[i]);
        this.optimizer.step(page, off, grads, i * d, d, rows[i]);
      }
    }
    this.rowsWritten += rows.length;
  }

  /**
   * The native step, one call per page the rows touch: a counting sort groups the rows by page (keeping
   * their order inside a page, so a repeated row is stepped in the order the JS loop steps it), and each
   * group goes with its rows within the page and the index of each one's gradient row in grads.
   */
  private applyNative(addon: { rowwiseStep: RowwiseStep }, rows: ArrayLike<number>, grads: Float32Array): void {
    const n = rows.length;
    const pr = this.data.pageRows;
    let g = this.group;
    if (!g || g.local.length < n) {
      const cap = Math.max(n, 2 * (g?.local.length ?? 0));
      const pages = this.data.pageCount;
      g = this.group = { pageOfRow: new Int32Array(cap), local: new Int32Array(cap), gradIndex: new Int32Array(cap), cursor: g?.cursor ?? new Int32Array(pages), touched: new Int32Array(Math.min(cap, pages)) };
    }
    const { pageOfRow, local, gradIndex, cursor, touched } = g;
    // All rows are checked before any is written (the JS loop stops at a bad row with the earlier ones stepped).
    for (let i = 0; i < n; i++) this.check(rows[i]);
    let nTouched = 0;
    try {
      for (let i = 0; i < n; i++) {
        const p = Math.floor(rows[i] / pr);
        pageOfRow[i] = p;
        if (cursor[p]++ === 0) touched[nTouched++] = p;
      }
      for (let j = 0, start = 0; j < nTouched; j++) {
        const p = touched[j];
        const c = cursor[p];
        cursor[p] = start;
        start += c;
      }
      for (let i = 0; i < n; i++) {
        const p = pageOfRow[i];
        const at = cursor[p]++;
        local[at] = rows[i] - p * pr;
        gradIndex[at] = i;
      }
      const params = this.optimizer.params();
      for (let j = 0, begin = 0; j < nTouched; j++) {
        const p = touched[j];
        const end = cursor[p];
        const { state, moment } = this.optimizer.statePages(p);
        addon.rowwiseStep(this.data.page(p), state, moment, local.subarray(begin, end), grads, gradIndex.subarray(begin, end), this.dim, params);
        begin = end;
      }
    } finally {
      for (let j = 0; j < nTouched; j++) cursor[touched[j]] = 0; // the cursors are all zero between calls
    }
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
