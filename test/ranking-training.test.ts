import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import * as path from 'path';
import { promises as fs } from 'fs';
import { CtrCvrHeads, RankingModel, buildRankingContext, impressionColumns, initDenseBackend, readEmbeddingExport, evaluatePredictions, predict, runVariant, trainModel } from '../src/ranking';
import { SeededRandom } from '../src/common/rng';
import { DenseAverage } from '../src/ranking/training/dense-average';
import { DAY, START, fixtureGraph, makeWorld, writeFixtureExport } from './ranking-fixtures';

beforeAll(async () => {
  await initDenseBackend();
});

describe('trainer: the sparse arch gets gradients for the looked-up rows only', () => {
  test.each([
    ['ids', false],
    ['attention', false],
    ['attention', true],
  ] as const)('%s (offsite neighbours: %s): one batch changes exactly the rows its impressions use (histories, neighbours included), in every table', async (variant, offsite) => {
    const w = makeWorld({ users: 60, pins: 40, days: 4 });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-train-'));
    await writeFixtureExport(dir, w, { windowTo: new Date(START + 3 * DAY).toISOString() });
    const graph = offsite ? { set: fixtureGraph(w, START + 3 * DAY), dir: 'G' } : undefined;
    const ctx = buildRankingContext(impressionColumns(w.records), await readEmbeddingExport(dir), { evalDays: 1, graph });
    const model = new RankingModel(variant, ctx, null);
    if (offsite) expect(model.slots.some((s) => s.name === 'offsite_kge')).toBe(true);
    // Late training impressions, so that some have click histories.
    const batch = ctx.split.train.subarray(ctx.split.train.length - 6);
    if (variant === 'attention') expect(Array.from(batch).some((i) => ctx.rows.history[i * ctx.historyLength] >= 0)).toBe(true);
    const snapshot = () => model.tables.map((t) => t.gather(Array.from({ length: t.rows }, (_, r) => r)));
    const before = snapshot();
    trainModel(model, { ...ctx, split: { ...ctx.split, train: Int32Array.from(batch) } }, { epochs: 1, batchSize: 6, coldStartDropout: 0 });
    const after = snapshot();
    model.tables.forEach((t, ti) => {
      const used = new Set<number>();
      for (const s of model.slots.filter((x) => x.table === t)) {
        for (const i of batch) for (let k = 0; k < s.width; k++) if (s.rows[i * s.width + k] >= 0) used.add(s.rows[i * s.width + k]);
      }
      if (t.frozen) used.clear();
      for (let r = 0; r < t.rows; r++) {
        const changed = after[ti].subarray(r * t.dim, (r + 1) * t.dim).some((v, k) => v !== before[ti][r * t.dim + k]);
        expect([t.name, r, changed]).toEqual([t.name, r, used.has(r)]);
      }
    });
    model.dispose();
  });
});

describe('dense weights: exponential moving average (Polyak averaging)', () => {
  test('bias-corrected: the initial weights get no share, and later steps weigh more', () => {
    const w = tf.variable(tf.tensor1d([10, -10]));
    const avg = new DenseAverage([w], 0.5);
    w.assign(tf.tensor1d([1, 2]));
    avg.update();
    w.assign(tf.tensor1d([3, 4]));
    avg.update();
    avg.assignToWeights();
    // weights 0.25 and 0.5 for the two steps, normalised by 0.75
    const got = Array.from(w.dataSync());
    expect(got[0]).toBeCloseTo((0.25 * 1 + 0.5 * 3) / 0.75, 5);
    expect(got[1]).toBeCloseTo((0.25 * 2 + 0.5 * 4) / 0.75, 5);
    w.dispose();
  });

  test('decay 0, or no update, leaves the weights as they are; a decay outside [0, 1) is refused by name', () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const off = new DenseAverage([w], 0);
    w.assign(tf.tensor1d([5, 6]));
    off.update();
    off.assignToWeights();
    expect(Array.from(w.dataSync())).toEqual([5, 6]);
    const idle = new DenseAverage([w], 0.9);
    idle.assignToWeights();
    expect(Array.from(w.dataSync())).toEqual([5, 6]);
    for (const bad of [1, -0.1, NaN]) expect(() => new DenseAverage([w], bad)).toThrow(/emaDecay must be in \[0, 1\)/);
    w.dispose();
  });

  test('training takes the same steps with or without it; only the final dense weights differ', async () => {
    const w = makeWorld({ users: 60, pins: 40, days: 4 });
    const ctx = buildRankingContext(impressionColumns(w.records), null, { evalDays: 1 });
    const run = (emaDecay: number) => {
      const m = new RankingModel('ids', ctx, null, { seed: 3 });
      trainModel(m, ctx, { epochs: 1, batchSize: 32, seed: 4, emaDecay });
      const tables = m.tables.map((t) => Array.from(t.gather(Array.from({ length: t.rows }, (_, r) => r))));
      const dense = m.denseVariables.map((v) => Array.from(v.dataSync()));
      m.dispose();
      return { tables, dense };
    };
    const plain = run(0);
    const averaged = run(0.9);
    expect(averaged.tables).toEqual(plain.tables);
    const moved = averaged.dense.flat().reduce((s, x, i) => s + Math.abs(x - plain.dense.flat()[i]), 0);
    expect(moved).toBeGreaterThan(1e-4);
  });
});

describe('cold-start dropout', () => {
  const setup = async () => {
    const w = makeWorld({ users: 60, pins: 40, days: 4 });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-cold-'));
    await writeFixtureExport(dir, w, { windowTo: new Date(START + 3 * DAY).toISOString() });
    return buildRankingContext(impressionColumns(w.records), await readEmbeddingExport(dir), { evalDays: 1 });
  };
  const allRows = (t: { rows: number; gather: (r: number[]) => Float32Array }) => Array.from(t.gather(Array.from({ length: t.rows }, (_, r) => r)));

  test('the user-knowledge slots are the KGE and facet-2 user rows and the click history', async () => {
    const ctx = await setup();
    const facet2 = { dim: 4, userVectors: new Float32Array(ctx.cols.users.size * 4).fill(0.1), pinVectors: new Float32Array(ctx.cols.pins.size * 4).fill(0.1), pairs: 0, epochLoss: [] };
    const model = new RankingModel('attention', ctx, facet2);
    expect(model.slots.filter((s) => s.userKnowledge).map((s) => s.name).sort()).toEqual(['history_kge', 'user_facet2', 'user_kge']);
    model.dispose();
  });

  test('a dropped impression gives its user-knowledge rows no gradient, other slots still learn; ids is unaffected', async () => {
    const ctx = await setup();
    // One late training impression (it has a click history), trained alone under 20 shuffle seeds: its user's
    // KGE row and its history's pin rows move only when the impression was not dropped.
    const i = Array.from(ctx.split.train).reverse().find((j) => ctx.rows.history[j * ctx.historyLength] >= 0)!;
    const one = { ...ctx, split: { ...ctx.split, train: Int32Array.of(i) } };
    const moved = (p: number, seed: number) => {
      const m = new RankingModel('attention', ctx, null, { seed: 2 });
      const row = (name: string, r: number) => Array.from(m.tables.find((t) => t.name === name)!.row(r));
      const histRow = ctx.rows.history[i * ctx.historyLength];
      const before = [row('user_kge', ctx.rows.user[i]), row('pin_kge', histRow), row('user_id', ctx.rows.user[i])];
      trainModel(m, one, { epochs: 1, batchSize: 1, seed, coldStartDropout: p });
      const after = [row('user_kge', ctx.rows.user[i]), row('pin_kge', histRow), row('user_id', ctx.rows.user[i])];
      m.dispose();
      return after.map((v, k) => v.some((x, j) => x !== before[k][j]));
    };
    const seeds = Array.from({ length: 20 }, (_, s) => s + 1);
    const never = seeds.map((s) => moved(0, s));
    expect(never.every(([kge, hist, id]) => kge && hist && id)).toBe(true);
    const mostly = seeds.map((s) => moved(0.95, s));
    expect(mostly.every(([, , id]) => id)).toBe(true); // user_id is not user knowledge: always learns
    mostly.forEach(([kge, hist]) => expect(kge).toBe(hist)); // dropped together
    expect(mostly.filter(([kge]) => kge).length).toBeLessThanOrEqual(4); // ~1 of 20 expected at p = 0.95
    // ids has no user-knowledge slots: the same model whatever the dropout.
    const ids = (p: number) => {
      const m = new RankingModel('ids', ctx, null, { seed: 2 });
      trainModel(m, ctx, { epochs: 1, batchSize: 64, seed: 5, coldStartDropout: p });
      const out = m.tables.map(allRows);
      m.dispose();
      return out;
    };
    expect(ids(0.5)).toEqual(ids(0));
    const m = new RankingModel('ids', ctx, null);
    expect(() => trainModel(m, ctx, { coldStartDropout: 1 })).toThrow(/coldStartDropout must be in \[0, 1\)/);
    m.dispose();
  });
});

describe('an ensemble per variant', () => {
  test('members with seeds seed … seed+k−1, their probabilities averaged; one member is the plain model', async () => {
    const w = makeWorld({ users: 60, pins: 40, days: 4 });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-ens-'));
    await writeFixtureExport(dir, w, { windowTo: new Date(START + 3 * DAY).toISOString() });
    const ctx = buildRankingContext(impressionColumns(w.records), await readEmbeddingExport(dir), { evalDays: 1 });
    const train = { epochs: 1, batchSize: 64, seed: 7 };
    const member = (k: number) => {
      const m = new RankingModel('attention', ctx, null, { seed: 5 + k });
      trainModel(m, ctx, { ...train, seed: 7 + k });
      const p = predict(m, ctx, ctx.split.eval);
      m.dispose();
      return p;
    };
    const [a, b] = [member(0), member(1)];
    const avg = (x: Float32Array, y: Float32Array) => Array.from(x, (v, i) => v / 2 + y[i] / 2);
    const expected = evaluatePredictions(ctx, avg(a.pCtr, b.pCtr), avg(a.pCvr, b.pCvr));
    const reported: [number, number][] = [];
    const two = await runVariant(ctx, 'attention', null, { model: { seed: 5 }, train: { ...train, onProgress: (d, t) => reported.push([d, t]) }, ensemble: 2 });
    // Progress runs once over both members: one total, never going back, ending at it.
    expect(new Set(reported.map((x) => x[1])).size).toBe(1);
    expect(reported.every((x, i) => i === 0 || x[0] > reported[i - 1][0])).toBe(true);
    expect(reported[reported.length - 1][0]).toBe(reported[0][1]);
    expect(two.ctr.auc).toBeCloseTo(expected.ctr.auc!, 6);
    expect(two.cvr.auc).toBeCloseTo(expected.cvr.auc!, 6);
    expect(two.facts.ensemble).toBe(2);
    const one = await runVariant(ctx, 'attention', null, { model: { seed: 5 }, train });
    expect(one.ctr.auc).toBeCloseTo(evaluatePredictions(ctx, a.pCtr, a.pCvr).ctr.auc!, 6);
    expect(two.train.trainSamples).toBe(2 * one.train.trainSamples);
    expect(one.facts.ensemble).toBeUndefined();
    await expect(runVariant(ctx, 'ids', null, { ensemble: 0 })).rejects.toThrow('ensemble must be an integer ≥ 1, got 0');
  });
});

describe('CTR/CVR heads: losses against hand-computed values', () => {
  const ctr = [0.5, -1, 2];
  const cvr = [1, 0.3, -0.7];
  const click = [1, 0, 1];
  const conv = [1, 0, 0];
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const bce = (y: number, p: number) => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const run = (mode: 'clicks' | 'esmm') => {
    const heads = new CtrCvrHeads(new SeededRandom(1), 4, mode);
    const v = tf.tidy(() => heads.loss(tf.tensor1d(ctr), tf.tensor1d(cvr), tf.tensor1d(click), tf.tensor1d(conv)).dataSync()[0]);
    tf.dispose(heads.variables);
    return v;
  };
  const ctrLoss = mean(ctr.map((x, i) => bce(click[i], sig(x))));

  test('clicks: CVR log-loss over clicked impressions only', () => {
    const cvrLoss = (bce(conv[0], sig(cvr[0])) + bce(conv[2], sig(cvr[2]))) / 2;
    expect(run('clicks')).toBeCloseTo(ctrLoss + cvrLoss, 5);
  });

  test('esmm: pCTCVR = pCTR·pCVR fit to conversions over all impressions', () => {
    const ctcvr = mean(ctr.map((x, i) => bce(conv[i], sig(x) * sig(cvr[i]))));
    expect(run('esmm')).toBeCloseTo(ctrLoss + ctcvr, 5);
  });
});
