import { IdMapper, LidTable, initTableFromVectors } from '../src/ranking/tables';

function snapshot(t: LidTable): Float32Array {
  return t.gather(Array.from({ length: t.rows }, (_, i) => i));
}

describe('LidTable: only touched rows are read and written', () => {
  for (const kind of ['adagrad', 'adam'] as const) {
    test(`${kind}: a step changes exactly the rows it was given`, () => {
      const t = new LidTable({ name: 't', rows: 50, dim: 6, initStd: 0.1, seed: 3, pageRows: 8, optimizer: { kind, learningRate: 0.1 } });
      const before = snapshot(t);
      const stateBefore = Array.from({ length: 50 }, (_, r) => t.optimizer.rowStateOf(r));
      t.rowsRead = 0;
      const rows = [3, 17, 41];
      const grads = Float32Array.from({ length: rows.length * 6 }, (_, i) => ((i % 5) - 2) * 0.3 + 0.05);
      t.applyGradients(rows, grads);
      expect(t.rowsWritten).toBe(3);
      expect(t.rowsRead).toBe(0);
      const after = snapshot(t);
      for (let r = 0; r < 50; r++) {
        const changed = after.subarray(r * 6, r * 6 + 6).some((v, k) => v !== before[r * 6 + k]);
        expect([r, changed]).toEqual([r, rows.includes(r)]);
        expect(t.optimizer.rowStateOf(r) !== stateBefore[r]).toBe(rows.includes(r));
      }
      // Gradient descent: each updated row moved against its gradient.
      rows.forEach((r, i) => {
        for (let k = 0; k < 6; k++) expect(Math.sign(after[r * 6 + k] - before[r * 6 + k])).toBe(-Math.sign(grads[i * 6 + k]));
      });
    });
  }

  test('pages are allocated only for touched rows, and lazily allocated rows equal eagerly allocated ones', () => {
    const cfg = { name: 'lazy', rows: 100_000, dim: 4, initStd: 0.05, seed: 9, pageRows: 1000, optimizer: { kind: 'adagrad' as const, learningRate: 0.1 } };
    const lazy = new LidTable(cfg);
    const v = lazy.gather([99_999, 5]);
    expect(lazy.allocatedPages()).toBe(2);
    const eager = new LidTable(cfg);
    eager.materialize();
    expect(eager.allocatedPages()).toBe(100);
    expect(Array.from(eager.gather([99_999, 5]))).toEqual(Array.from(v));
  });

  test('row-wise Adagrad matches the hand-computed update', () => {
    const t = new LidTable({ name: 'a', rows: 2, dim: 2, initStd: 0, optimizer: { kind: 'adagrad', learningRate: 0.5 } });
    t.applyGradients([1], Float32Array.from([3, 4])); // mean g² = 12.5, state 12.5, step = 0.5/√12.5
    const s = 0.5 / Math.sqrt(12.5);
    expect(t.row(1)[0]).toBeCloseTo(-3 * s, 6);
    expect(t.row(1)[1]).toBeCloseTo(-4 * s, 6);
    expect(Array.from(t.row(0))).toEqual([0, 0]);
  });

  test('frozen tables ignore gradients', () => {
    const t = new LidTable({ name: 'f', rows: 3, dim: 2, initStd: 0.1, frozen: true, optimizer: { kind: 'adagrad', learningRate: 1 } });
    const before = snapshot(t);
    t.applyGradients([0, 1], new Float32Array(4).fill(1));
    expect(Array.from(snapshot(t))).toEqual(Array.from(before));
  });

  test('bad rows and gradient sizes are rejected with the table name', () => {
    const t = new LidTable({ name: 'users', rows: 3, dim: 2, optimizer: { kind: 'adagrad', learningRate: 1 } });
    expect(() => t.gather([3])).toThrow(/users: row 3 out of range/);
    expect(() => t.applyGradients([0], new Float32Array(3))).toThrow(/users: 3 gradient values/);
  });
});

describe('tables over 1 GB', () => {
  const rows = 4_400_000;
  const dim = 64; // 4.4M × 64 × 4 B = 1.126 GB
  test('a 1.1 GB table allocates only the pages its rows touch', () => {
    const t = new LidTable({ name: 'big', rows, dim, initStd: 0.01, pageRows: 4096, optimizer: { kind: 'adagrad', learningRate: 0.1 } });
    expect(t.logicalBytes()).toBeGreaterThan(1.1e9);
    const touched = [0, 1_234_567, rows - 1];
    const before = t.gather(touched);
    t.applyGradients(touched, new Float32Array(3 * dim).fill(0.5));
    const after = t.gather(touched);
    for (let i = 0; i < after.length; i++) expect(after[i]).toBeLessThan(before[i]);
    expect(t.allocatedPages()).toBe(3);
    expect(t.allocatedBytes()).toBeLessThan(5e6);
  });

  test('a fully materialised 1.1 GB table, one contiguous Float32Array, works end to end', () => {
    const t = new LidTable({ name: 'big-eager', rows, dim, initStd: 0, pageRows: rows, optimizer: { kind: 'adagrad', learningRate: 0.1 } });
    t.materialize();
    expect(t.allocatedBytes()).toBeGreaterThan(1.1e9);
    t.setRow(rows - 1, new Float32Array(dim).fill(2));
    t.applyGradients([rows - 1, 7], new Float32Array(2 * dim).fill(1));
    expect(t.row(rows - 1)[dim - 1]).toBeCloseTo(2 - 0.1, 5);
    expect(t.row(7)[0]).toBeCloseTo(-0.1, 5);
    expect(t.row(rows - 2)[0]).toBe(0);
  });
});

describe('IdMapper', () => {
  test('exact while the ids fit, one row each in order of first sight', () => {
    const m = new IdMapper(['b', 'a', 'b', 'c'], 10);
    expect(m.mode).toBe('exact');
    expect([m.row('b'), m.row('a'), m.row('c')]).toEqual([0, 1, 2]);
    expect(m.rows).toBe(10);
  });

  test('hashes when the id space is larger than the table: rows in range, deterministic, collisions shared', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `user-${i}`);
    const m = new IdMapper(ids, 1000);
    expect(m.mode).toBe('hash');
    const rows = ids.map((id) => m.row(id));
    expect(rows.every((r) => Number.isInteger(r) && r >= 0 && r < 1000)).toBe(true);
    expect(new IdMapper(ids, 1000).row('user-42')).toBe(rows[42]);
    const used = new Set(rows).size;
    // 5000 ids into 1000 rows: nearly every row used (≈ 1000·(1 − e⁻⁵) ≈ 993), so the hash spreads.
    expect(used).toBeGreaterThan(970);
    expect(used).toBeLessThan(1000 + 1);
  });

  test('pretrained init writes each id to its row, averaging colliding ids in hash mode', () => {
    const ids = ['x', 'y', 'z'];
    const vecs = Float32Array.from([1, 1, 3, 3, 5, 5]);
    const exact = new IdMapper(ids);
    const t = new LidTable({ name: 'e', rows: exact.rows, dim: 2, initStd: 0, optimizer: { kind: 'adagrad', learningRate: 1 } });
    expect(initTableFromVectors(t, exact, ids, (id) => ids.indexOf(id), vecs, 2)).toBe(3);
    expect(Array.from(t.row(exact.row('z')))).toEqual([5, 5]);
    const hashed = new IdMapper(ids, 1);
    const h = new LidTable({ name: 'h', rows: 1, dim: 2, initStd: 0, optimizer: { kind: 'adagrad', learningRate: 1 } });
    initTableFromVectors(h, hashed, ids, (id) => ids.indexOf(id), vecs, 2);
    expect(Array.from(h.row(0))).toEqual([3, 3]);
  });
});
