/**
 * Row-wise sparse optimizers for LID tables (TorchRec's EXACT_ROWWISE_ADAGRAD and PARTIAL_ROWWISE_ADAM):
 * state is one scalar per row (Adagrad) or a per-element first moment plus a per-row second moment
 * (Adam), so a table of R rows × d costs R extra floats (Adagrad), not R × d.
 * State is paged like the table and only the pages of touched rows are ever allocated.
 */
export type RowOptimizerKind = 'adagrad' | 'adam';

export interface RowOptimizerConfig {
  kind: RowOptimizerKind;
  learningRate: number;
  eps?: number;
  beta1?: number;
  beta2?: number;
  /** Adagrad's starting accumulator (TorchRec's initial_accumulator_value). */
  initialAccumulator?: number;
}

/** Lazily allocated per-row storage of `width` floats, in pages of `pageRows` rows. */
export class PagedRows {
  private readonly pages: (Float32Array | undefined)[];
  constructor(
    readonly rows: number,
    readonly width: number,
    readonly pageRows: number,
    private readonly fill: (page: Float32Array, firstRow: number) => void,
  ) {
    this.pages = new Array(Math.ceil(rows / pageRows));
  }
  /** The page holding `row` and the row's offset inside it, allocating (and filling) the page on first touch. */
  locate(row: number): [Float32Array, number] {
    const p = Math.floor(row / this.pageRows);
    return [this.page(p), (row - p * this.pageRows) * this.width];
  }
  /** Page p (rows p·pageRows …), allocated and filled on first touch; the native step works on it in place. */
  page(p: number): Float32Array {
    let page = this.pages[p];
    if (!page) {
      const first = p * this.pageRows;
      page = new Float32Array(Math.min(this.pageRows, this.rows - first) * this.width);
      this.fill(page, first);
      this.pages[p] = page;
    }
    return page;
  }
  get pageCount(): number {
    return this.pages.length;
  }
  allocatedPages(): number {
    let n = 0;
    for (const p of this.pages) if (p) n++;
    return n;
  }
  allocatedBytes(): number {
    let n = 0;
    for (const p of this.pages) if (p) n += p.byteLength;
    return n;
  }
  /** Allocates every page (tests of very large tables; serving that wants no first-touch latency). */
  materialize(): void {
    for (let p = 0; p < this.pages.length; p++) this.locate(p * this.pageRows);
  }
}

/** Updates the given rows in place from their (already summed) gradients. */
export class RowOptimizer {
  readonly kind: RowOptimizerKind;
  learningRate: number;
  readonly eps: number;
  readonly beta1: number;
  readonly beta2: number;
  private readonly rowState: PagedRows; // adagrad: accumulator; adam: [v, step]
  private readonly moment?: PagedRows; // adam: first moment per element

  constructor(cfg: RowOptimizerConfig, rows: number, dim: number, pageRows: number) {
    if (!(cfg.learningRate > 0)) throw new Error(`row optimizer: learningRate must be > 0, got ${cfg.learningRate}`);
    this.kind = cfg.kind;
    this.learningRate = cfg.learningRate;
    this.eps = cfg.eps ?? (cfg.kind === 'adagrad' ? 1e-8 : 1e-8);
    this.beta1 = cfg.beta1 ?? 0.9;
    this.beta2 = cfg.beta2 ?? 0.999;
    const acc0 = cfg.initialAccumulator ?? 0;
    if (cfg.kind === 'adagrad') {
      this.rowState = new PagedRows(rows, 1, pageRows, (p) => p.fill(acc0));
    } else {
      this.rowState = new PagedRows(rows, 2, pageRows, () => undefined);
      this.moment = new PagedRows(rows, dim, pageRows, () => undefined);
    }
  }

  /** Applies one step to `row` whose values sit at data[off..off+dim) with gradient grad[goff..goff+dim). */
  step(data: Float32Array, off: number, grad: Float32Array, goff: number, dim: number, row: number): void {
    let sq = 0;
    for (let k = 0; k < dim; k++) sq += grad[goff + k] * grad[goff + k];
    const meanSq = sq / dim;
    const [st, so] = this.rowState.locate(row);
    if (this.kind === 'adagrad') {
      st[so] += meanSq;
      const scale = this.learningRate / (Math.sqrt(st[so]) + this.eps);
      for (let k = 0; k < dim; k++) data[off + k] -= scale * grad[goff + k];
      return;
    }
    const [m, mo] = this.moment!.locate(row);
    st[so] = this.beta2 * st[so] + (1 - this.beta2) * meanSq;
    const t = ++st[so + 1]; // per-row step count: rows are updated lazily, so bias correction is per row
    const c1 = 1 - Math.pow(this.beta1, t);
    const c2 = 1 - Math.pow(this.beta2, t);
    const denom = Math.sqrt(st[so] / c2) + this.eps;
    for (let k = 0; k < dim; k++) {
      m[mo + k] = this.beta1 * m[mo + k] + (1 - this.beta1) * grad[goff + k];
      data[off + k] -= (this.learningRate * (m[mo + k] / c1)) / denom;
    }
  }

  /** Page p of the row state and (Adam) of the first moment, allocated on first touch: what the native step updates in place. */
  statePages(p: number): { state: Float32Array; moment: Float32Array | null } {
    return { state: this.rowState.page(p), moment: this.moment ? this.moment.page(p) : null };
  }
  /** The step's parameters as the native step takes them (learningRate as it is now: trainers may change it). */
  params(): { kind: RowOptimizerKind; learningRate: number; eps: number; beta1: number; beta2: number } {
    return { kind: this.kind, learningRate: this.learningRate, eps: this.eps, beta1: this.beta1, beta2: this.beta2 };
  }

  stateBytes(): number {
    return this.rowState.allocatedBytes() + (this.moment?.allocatedBytes() ?? 0);
  }
  /** Row-state value (accumulator or v) of one row; for tests. */
  rowStateOf(row: number): number {
    const [st, so] = this.rowState.locate(row);
    return st[so];
  }
}
