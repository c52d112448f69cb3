import * as os from 'os';
import * as path from 'path';
import { promises as fs } from 'fs';
import { aucStandardError, logLoss, rocAuc } from '../src/ranking/evaluation';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../src/ranking/data';

describe('AUC and log-loss against hand-computed values', () => {
  test('AUC counts correctly ordered positive/negative pairs', () => {
    // Pairs (pos, neg): (0.8,0.1) ok, (0.8,0.4) ok, (0.35,0.1) ok, (0.35,0.4) wrong → 3/4.
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    expect(rocAuc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBe(0);
  });

  test('ties count one half', () => {
    // pos 0.5 vs neg 0.5 tie (½), pos 0.5 vs neg 0.2 ok (1), pos 0.9 beats both (2) → 3.5/4.
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.2])).toBeCloseTo(0.875, 12);
    expect(rocAuc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
  });

  test('AUC is null with one class', () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNull();
    expect(rocAuc([], [])).toBeNull();
  });

  test('log-loss is the mean negative log-likelihood, clipped', () => {
    const want = -(Math.log(0.9) + Math.log(1 - 0.2) + Math.log(0.6)) / 3;
    expect(logLoss([1, 0, 1], [0.9, 0.2, 0.6])).toBeCloseTo(want, 12);
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-7), 6);
    expect(logLoss([], [])).toBeNull();
    expect(() => logLoss([1, 0], [0.5])).toThrow(/2 labels but 1/);
  });
});

describe('npy', () => {
  test('round-trips float32 and int32 arrays with a numpy-compatible header', async () => {
    const f = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'npy-')), 'a.npy');
    const data = Float32Array.from([1.5, -2, 3.25, 0, 7, 8]);
    await writeNpy(f, { dtype: 'float32', shape: [2, 3], data });
    const buf = await fs.readFile(f);
    expect(buf.toString('latin1', 1, 6)).toBe('NUMPY');
    expect((10 + buf.readUInt16LE(8)) % 64).toBe(0);
    const back = await readNpy(f);
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    const ints = parseNpy(encodeNpy({ dtype: 'int32', shape: [4], data: Int32Array.from([1, -2, 3, 4]) }));
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.data)).toEqual([1, -2, 3, 4]);
  });

  test('rejects what it cannot read, naming the file', () => {
    expect(() => parseNpy(Buffer.from('hello world!'), 'x.npy')).toThrow(/x.npy: not a .npy file/);
    const fortran = encodeNpy({ dtype: 'float32', shape: [1], data: new Float32Array(1) }).toString('latin1').replace("'fortran_order': False", "'fortran_order': True ");
    expect(() => parseNpy(Buffer.from(fortran, 'latin1'), 'f.npy')).toThrow(/Fortran/);
  });
});

describe('aucStandardError (Hanley–McNeil)', () => {
  test('matches the published value and shrinks with the counts', () => {
    // Hanley & McNeil (1982), table: A = 0.8 with 50 positives and 50 negatives has SE ≈ 0.0445.
    expect(aucStandardError(0.8, 50, 50)).toBeCloseTo(0.0445, 3);
    expect(aucStandardError(0.8, 500, 500)!).toBeLessThan(aucStandardError(0.8, 50, 50)! / 3);
    expect(aucStandardError(0.5, 100, 100)).toBeCloseTo(Math.sqrt((0.25 + 99 * (1 / 3 - 0.25) + 99 * (1 / 3 - 0.25)) / 10000), 12);
  });
  test('is null when a class is empty', () => {
    expect(aucStandardError(0.7, 0, 10)).toBeNull();
    expect(aucStandardError(0.7, 10, 0)).toBeNull();
  });
});
