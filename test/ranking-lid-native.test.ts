/**
 * LID tables on the native engine's row-wise step (native/src/rowwise.cc via native-rowwise.ts) against
 * the JS step (RowOptimizer.step): same values and optimizer state, only touched rows and pages, bad
 * arguments refused before anything is written, and the JS fallback without the addon.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { counterFloat } from '../src/common/rng';
import { LidTable, LidTableConfig } from '../src/ranking/tables';
import { RowwiseStep, nativeRowwise } from '../src/ranking/tables/native-rowwise';

const probe = nativeRowwise();
const addon = 'addon' in probe ? probe.addon : null;
const skipWhy = 'reason' in probe ? probe.reason : '';
if (!addon) console.warn(`ranking-lid-native: native tests skipped: ${skipWhy}`);
const describeNative = addon ? describe : describe.skip;
const nativeTitle = (t: string): string => (addon ? t : `${t} (skipped: ${skipWhy})`);

/** A table made with ADKG_LID_NATIVE set as given (the choice is made when the table is constructed). */
function makeTable(cfg: LidTableConfig, lidNative: '0' | undefined): LidTable {
  const saved = process.env.ADKG_LID_NATIVE;
  if (lidNative === undefined) delete process.env.ADKG_LID_NATIVE;
  else process.env.ADKG_LID_NATIVE = lidNative;
  try {
    return new LidTable(cfg);
  } finally {
    if (saved === undefined) delete process.env.ADKG_LID_NATIVE;
    else process.env.ADKG_LID_NATIVE = saved;
  }
}

/** Random batches: distinct rows per batch drawn from a small pool (so rows recur across steps with different counts), never from `skipPage`. */
function batches(seed: number, steps: number, rows: number, pageRows: number, skipPage: number, dim: number): { rows: number[]; grads: Float32Array }[] {
  const pool: number[] = [];
  for (let i = 0; pool.length < 80; i++) {
    const r = Math.floor(counterFloat(seed, 1, i) * rows);
    if (Math.floor(r / pageRows) !== skipPage && !pool.includes(r)) pool.push(r);
  }
  const out: { rows: number[]; grads: Float32Array }[] = [];
  for (let s = 0; s < steps; s++) {
    const picked = pool.filter((_, i) => counterFloat(seed, 100 + s, i) < 0.5);
    const grads = Float32Array.from({ length: picked.length * dim }, (_, i) => {
      const u = counterFloat(seed, 1000 + s, i) * 2 - 1;
      const scale = [1e-3, 0.3, 5][i % 3]; // small, ordinary and large gradients
      return i % 11 === 0 ? 0 : u * scale;
    });
    out.push({ rows: picked, grads });
  }
  return out;
}

function expectClose(actual: Float32Array | number[], expected: Float32Array | number[], what: string): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e) / Math.max(Math.abs(e), 1e-6);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  const verdict = worst <= 1e-6 ? 'within 1e-6 relative' : `relative difference ${worst} at ${at}: ${actual[at]} vs ${expected[at]}`;
  expect(`${what}: ${verdict}`).toBe(`${what}: within 1e-6 relative`);
}

/** Row state of every row: [state0, state1?] per row, and (Adam) the first moments, read from the state pages. */
function stateOf(t: LidTable, pageRows: number): { state: number[]; moment: number[] } {
  const state: number[] = [];
  const moment: number[] = [];
  const pages = Math.ceil(t.rows / pageRows);
  for (let p = 0; p < pages; p++) {
    const s = t.optimizer.statePages(p);
    state.push(...s.state);
    if (s.moment) moment.push(...s.moment);
  }
  return { state, moment };
}

describeNative(nativeTitle('native row-wise step = JS step'), () => {
  const rows = 1000;
  const pageRows = 64; // 16 pages, the last one short (40 rows)
  const skipPage = 5;
  const cases: [string, LidTableConfig['optimizer'], number, number][] = [
    ['adagrad', { kind: 'adagrad', learningRate: 0.2, initialAccumulator: 0.1 }, 16, 1],
    ['adagrad', { kind: 'adagrad', learningRate: 0.05 }, 5, 2],
    ['adam', { kind: 'adam', learningRate: 0.01 }, 16, 3],
    ['adam', { kind: 'adam', learningRate: 0.3, beta1: 0.5, beta2: 0.9, eps: 1e-6 }, 7, 4],
  ];
  for (const [kind, optimizer, dim, seed] of cases) {
    test(`${kind} dim ${dim} lr ${optimizer.learningRate}: values and optimizer state match over 8 steps; untouched rows and pages stay untouched`, () => {
      const cfg: LidTableConfig = { name: `t-${kind}`, rows, dim, initStd: 0.2, seed: 11, pageRows, optimizer };
      const native = makeTable(cfg, undefined);
      const js = makeTable(cfg, '0');
      const spy = jest.spyOn(addon!, 'rowwiseStep');
      try {
        const touched = new Set<number>();
        for (const b of batches(seed, 8, rows, pageRows, skipPage, dim)) {
          const callsBefore = spy.mock.calls.length;
          native.applyGradients(b.rows, b.grads);
          js.applyGradients(b.rows, b.grads);
          // One native call per page the batch touches: the native path really ran.
          expect(spy.mock.calls.length - callsBefore).toBe(new Set(b.rows.map((r) => Math.floor(r / pageRows))).size);
          b.rows.forEach((r) => touched.add(r));
        }
        const pagesTouched = new Set([...touched].map((r) => Math.floor(r / pageRows))).size;
        expect(pagesTouched).toBeLessThan(Math.ceil(rows / pageRows)); // skipPage at least stays unallocated
        expect(native.allocatedPages()).toBe(pagesTouched);
        expect(js.allocatedPages()).toBe(pagesTouched);
        expect(native.allocatedBytes()).toBe(js.allocatedBytes());
        expect([native.rowsRead, native.rowsWritten]).toEqual([js.rowsRead, js.rowsWritten]);

        const all = Array.from({ length: rows }, (_, r) => r);
        const nv = native.gather(all);
        expectClose(nv, js.gather(all), 'values');
        const ns = stateOf(native, pageRows);
        const jsState = stateOf(js, pageRows);
        expectClose(ns.state, jsState.state, 'row state');
        expectClose(ns.moment, jsState.moment, 'first moment');
        if (kind === 'adam') {
          // Per-row step counts differ between rows (rows recur in some batches only) and match exactly.
          const counts = ns.state.filter((_, i) => i % 2 === 1);
          expect(counts).toEqual(jsState.state.filter((_, i) => i % 2 === 1));
          expect(new Set(counts.filter((c) => c > 0)).size).toBeGreaterThanOrEqual(3);
        }
        // Rows never stepped keep their initial values and state, bit for bit.
        const fresh = makeTable(cfg, '0').gather(all);
        const acc0 = optimizer.initialAccumulator ?? 0;
        const width = kind === 'adam' ? 2 : 1;
        let untouchedRows = 0;
        for (let r = 0; r < rows; r++) {
          const same = nv.subarray(r * dim, (r + 1) * dim).every((v, k) => v === fresh[r * dim + k]);
          expect([r, same]).toEqual([r, !touched.has(r)]);
          if (!touched.has(r)) {
            untouchedRows++;
            expect(ns.state[r * width]).toBe(kind === 'adam' ? 0 : Math.fround(acc0));
          }
        }
        expect(untouchedRows).toBeGreaterThan(0);
      } finally {
        spy.mockRestore();
      }
    });
  }

  test('a row given twice in one call is stepped twice, in order, as the JS loop does', () => {
    const cfg: LidTableConfig = { name: 'rep', rows: 40, dim: 3, initStd: 0.1, pageRows: 8, optimizer: { kind: 'adam', learningRate: 0.1 } };
    const native = makeTable(cfg, undefined);
    const js = makeTable(cfg, '0');
    const rowsList = [5, 30, 5, 12, 30, 5];
    const grads = Float32Array.from({ length: rowsList.length * 3 }, (_, i) => Math.sin(i + 1));
    native.applyGradients(rowsList, grads);
    js.applyGradients(rowsList, grads);
    const all = Array.from({ length: 40 }, (_, r) => r);
    expectClose(native.gather(all), js.gather(all), 'values');
    expect(stateOf(native, 8).state[2 * 5 + 1]).toBe(3);
  });

  test('a bad row is refused before any row is written', () => {
    const cfg: LidTableConfig = { name: 'users', rows: 100, dim: 4, initStd: 0.1, pageRows: 16, optimizer: { kind: 'adagrad', learningRate: 0.1 } };
    const t = makeTable(cfg, undefined);
    const before = t.gather([1, 50]);
    expect(() => t.applyGradients([1, 50, 100], new Float32Array(12).fill(1))).toThrow(/users: row 100 out of range \[0, 100\)/);
    expect(() => t.applyGradients([1, -1], new Float32Array(8).fill(1))).toThrow(/users: row -1 out of range/);
    expect(Array.from(t.gather([1, 50]))).toEqual(Array.from(before));
    expect(t.rowsWritten).toBe(0);
    // The table still works after the refusals (the grouping's scratch was left clean).
    t.applyGradients([50, 1], new Float32Array(8).fill(1));
    const after = t.gather([1, 50]);
    for (let i = 0; i < 8; i++) expect(after[i]).toBeLessThan(before[i]);
  });
});

describeNative(nativeTitle('native rowwiseStep refuses bad arguments, writing nothing'), () => {
  const dim = 4;
  const pageRows = 4;
  const params = { kind: 'adam' as const, learningRate: 0.1, eps: 1e-8, beta1: 0.9, beta2: 0.999 };
  function args(): Parameters<RowwiseStep> {
    return [
      Float32Array.from({ length: pageRows * dim }, (_, i) => i / 10),
      new Float32Array(pageRows * 2),
      new Float32Array(pageRows * dim),
      Int32Array.from([0, 2]),
      new Float32Array(2 * dim).fill(1),
      Int32Array.from([1, 0]),
      dim,
      { ...params },
    ];
  }
  const bad: [string, (a: Parameters<RowwiseStep>) => void, RegExp][] = [
    ['values of the wrong type', (a) => (a[0] = new Float64Array(16) as unknown as Float32Array), /rowwiseStep: values must be a Float32Array/],
    ['values not a multiple of dim', (a) => (a[0] = new Float32Array(14)), /rowwiseStep: values has 14 floats, not a positive multiple of dim 4/],
    ['state too short', (a) => (a[1] = new Float32Array(7)), /rowwiseStep: state has 7 floats, needs 8 \(4 rows × 2\)/],
    ['state a plain array', (a) => (a[1] = [0, 0, 0, 0, 0, 0, 0, 0] as unknown as Float32Array), /rowwiseStep: state must be a Float32Array/],
    ['no moment for adam', (a) => (a[2] = null), /rowwiseStep: moment must be a Float32Array for adam/],
    ['moment too short', (a) => (a[2] = new Float32Array(15)), /rowwiseStep: moment has 15 floats, needs 16 \(as values\)/],
    ['a moment for adagrad', (a) => ((a[1] = new Float32Array(4)), (a[7] = { ...params, kind: 'adagrad' })), /rowwiseStep: moment must be null for adagrad/],
    ['rows as Uint32Array', (a) => (a[3] = Uint32Array.from([0, 2]) as unknown as Int32Array), /rowwiseStep: rows must be a Int32Array/],
    ['a row past the page', (a) => (a[3] = Int32Array.from([0, 4])), /rowwiseStep: rows\[1\] = 4 is outside the page \[0, 4\)/],
    ['a negative row', (a) => (a[3] = Int32Array.from([-1, 0])), /rowwiseStep: rows\[0\] = -1 is outside the page \[0, 4\)/],
    ['grads not a multiple of dim', (a) => (a[4] = new Float32Array(7)), /rowwiseStep: grads has 7 floats, not a multiple of dim 4/],
    ['a gradient index past grads', (a) => (a[5] = Int32Array.from([0, 2])), /rowwiseStep: gradIndex\[1\] = 2 is outside \[0, 2\)/],
    ['gradIndex of the wrong length', (a) => (a[5] = Int32Array.from([0])), /rowwiseStep: gradIndex has 1 entries for 2 rows/],
    ['too few grads without gradIndex', (a) => ((a[5] = null), (a[4] = new Float32Array(dim))), /rowwiseStep: grads has 1 rows of dim 4 for 2 rows/],
    ['dim 0', (a) => (a[6] = 0), /rowwiseStep: dim must be a positive integer/],
    ['dim 2.5', (a) => (a[6] = 2.5), /rowwiseStep: dim must be a positive integer/],
    ['an unknown kind', (a) => (a[7] = { ...params, kind: 'sgd' as 'adam' }), /rowwiseStep: params.kind must be 'adagrad' or 'adam'/],
    ['a NaN learning rate', (a) => (a[7] = { ...params, learningRate: NaN }), /rowwiseStep: params.learningRate must be a finite number/],
    ['a negative learning rate', (a) => (a[7] = { ...params, learningRate: -1 }), /rowwiseStep: params.learningRate must be > 0/],
    ['beta2 of 1', (a) => (a[7] = { ...params, beta2: 1 }), /rowwiseStep: params.beta1 and beta2 must be in \[0, 1\)/],
  ];
  for (const [what, spoil, message] of bad) {
    test(what, () => {
      const a = args();
      spoil(a);
      const copies = a.map((x) => (ArrayBuffer.isView(x) ? Array.from(x as Float32Array) : x));
      expect(() => addon!.rowwiseStep(...a)).toThrow(message);
      a.forEach((x, i) => {
        if (ArrayBuffer.isView(x)) expect(Array.from(x as Float32Array)).toEqual(copies[i]);
      });
    });
  }

  test('the wrong number of arguments', () => {
    const a = args();
    expect(() => (addon!.rowwiseStep as unknown as (...x: unknown[]) => void)(...a.slice(0, 7))).toThrow(/takes 8 arguments, got 7/);
  });

  test('the unspoilt arguments step exactly the rows given, each with its own gradient row', () => {
    const a = args();
    const before = Array.from(a[0]);
    a[4].fill(0, 0, dim); // gradient row 0 (row 2's) is zero, row 1 (row 0's) is ones
    addon!.rowwiseStep(...a);
    for (let r = 0; r < pageRows; r++) {
      const moved = a[0].subarray(r * dim, (r + 1) * dim).some((v, k) => v !== before[r * dim + k]);
      expect([r, moved]).toEqual([r, r === 0]);
    }
    expect(Array.from(a[1])).toEqual([Math.fround(0.001), 1, 0, 0, 0, 1, 0, 0]); // v = (1 − β2)·mean g², per-row steps
  });
});

describe('the JS step without the addon', () => {
  const saved = { addon: process.env.ADKG_NATIVE_ADDON, lid: process.env.ADKG_LID_NATIVE };
  afterEach(() => {
    for (const [key, v] of [['ADKG_NATIVE_ADDON', saved.addon], ['ADKG_LID_NATIVE', saved.lid]] as const) {
      if (v === undefined) delete process.env[key];
      else process.env[key] = v;
    }
  });

  /** A table made by a fresh copy of the modules (the addon loader caches its answer), with its reason. */
  function isolatedTable(cfg: LidTableConfig): { table: LidTable; probe: ReturnType<typeof nativeRowwise> } {
    let out!: { table: LidTable; probe: ReturnType<typeof nativeRowwise> };
    jest.isolateModules(() => {
      const tables = require('../src/ranking/tables') as typeof import('../src/ranking/tables');
      const nr = require('../src/ranking/tables/native-rowwise') as typeof import('../src/ranking/tables/native-rowwise');
      out = { table: new tables.LidTable(cfg), probe: nr.nativeRowwise() };
    });
    return out;
  }

  const cfg: LidTableConfig = { name: 'fallback', rows: 300, dim: 6, initStd: 0.1, seed: 5, pageRows: 32, optimizer: { kind: 'adam', learningRate: 0.05 } };
  function train(t: LidTable): Float32Array {
    for (const b of batches(3, 4, cfg.rows, 32, 2, cfg.dim)) t.applyGradients(b.rows, b.grads);
    return t.gather(Array.from({ length: cfg.rows }, (_, r) => r));
  }

  test('a missing addon: the reason says what to run, and the table trains on the JS step', () => {
    process.env.ADKG_NATIVE_ADDON = path.join(os.tmpdir(), 'no-such-dir', 'adkg_native.node');
    delete process.env.ADKG_LID_NATIVE;
    const { table, probe: p } = isolatedTable(cfg);
    expect((p as { reason: string }).reason).toMatch(/^native backend unavailable: .*no-such-dir.*is not built; run npm run build:native$/);
    const before = table.gather([0]);
    const values = train(table);
    // The same as a table told to use the JS step: the fallback is that step, bit for bit.
    expect(Array.from(values)).toEqual(Array.from(train(makeTable(cfg, '0'))));
    expect(values.some((v, i) => i >= cfg.dim || v !== before[i])).toBe(true);
    expect(table.rowsWritten).toBeGreaterThan(0);
  });

  test('an addon built before rowwiseStep: the JS step, and a reason that says to rebuild', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'adkg-old-addon-'));
    try {
      const old = path.join(dir, 'adkg_native.js');
      writeFileSync(old, 'module.exports = { info: () => ({ isa: "generic", hardwareThreads: 1 }), NativeEngine: function () {} };\n');
      process.env.ADKG_NATIVE_ADDON = old;
      const { table, probe: p } = isolatedTable(cfg);
      expect((p as { reason: string }).reason).toBe('the native addon predates rowwiseStep; run npm run build:native');
      expect(Array.from(train(table))).toEqual(Array.from(train(makeTable(cfg, '0'))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ADKG_LID_NATIVE=0 forces the JS step even where the addon is built', () => {
    process.env.ADKG_LID_NATIVE = '0';
    expect(nativeRowwise()).toEqual({ reason: 'ADKG_LID_NATIVE=0 forces the JS step' });
    const t = makeTable(cfg, '0');
    if (addon) {
      const spy = jest.spyOn(addon, 'rowwiseStep');
      try {
        train(t);
        expect(spy).not.toHaveBeenCalled();
      } finally {
        spy.mockRestore();
      }
    } else {
      expect(train(t).length).toBe(cfg.rows * cfg.dim);
    }
  });
});
