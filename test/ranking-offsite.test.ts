import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import * as path from 'path';
import { promises as fs } from 'fs';
import { TripleSet, makeManifest } from '../src/common/triple-set';
import { SeededRandom } from '../src/common/rng';
import { ImpressionRecord } from '../src/common/impression';
import {
  AttentionFinetuner,
  LeakageError,
  OFFSITE_FEATURES,
  OFFSITE_RELATIONS,
  RankingModel,
  buildRankingContext,
  impressionColumns,
  initDenseBackend,
  offsiteFeatures,
  offsiteNeighbours,
  predict,
  standardizeFeatures,
  readEmbeddingExport,
  trainModel,
} from '../src/ranking';
import { DAY, START, fixtureGraph, makeWorld, writeFixtureExport } from './ranking-fixtures';

beforeAll(async () => {
  await initDenseBackend();
});

const rec = (userId: string, advertiserId: string, day: number): ImpressionRecord => ({
  eventId: `${userId}-${advertiserId}-${day}`,
  ts: START + day * DAY,
  userId,
  pinId: `p-${advertiserId}`,
  advertiserId,
  click: 1,
  conversion: 0,
});

/**
 * u1 visited a1, a2 and a9 (a9 never shown), carted and checked out at a1; u2 has only a click; u3 nothing.
 * With `events`, the snapshot's per-triple event counts: u1 visited a1 4 times, a2 once, a9 twice, carted twice at a1.
 */
const EVENTS = [4, 1, 2, 2, 1, 3, 5, 7];
/**
 * Those events by day, [triple, day, events] from day 0 = START: u1 visited a1 once on day 0 and 3 times on
 * day 1, a9 twice on day 0; everything else of u1 (a2, the cart and the checkout at a1) happened on day 1.
 */
const DAILY: [number, number, number][] = [[0, 0, 1], [0, 1, 3], [1, 1, 1], [2, 0, 2], [3, 1, 2], [4, 1, 1], [5, 0, 3], [6, 0, 5], [7, 1, 7]];
/**
 * Of those day entries, the events attributed to an ad click: 2 of u1's 3 day-1 visits to a1, its day-1 cart
 * and checkout at a1; the day-0 visits (a1, a9) and the a2 visit were organic.
 */
const ATTRIBUTED = [0, 2, 0, 0, 2, 1, 0, 0, 0];
function smallGraph(to: number, events?: number[], daily?: [number, number, number][], attributed?: number[]): TripleSet {
  const entities = [
    { type: 'User', id: 'u1' },
    { type: 'User', id: 'u2' },
    { type: 'Advertiser', id: 'a1' },
    { type: 'Advertiser', id: 'a2' },
    { type: 'Advertiser', id: 'a9' },
    { type: 'Pin', id: 'p-a1' },
    { type: 'Product', id: 'x1' },
    { type: 'User', id: 'ghost' },
  ];
  const relations = ['add_to_cart', 'CHECKOUT', 'CLICKED', 'PAGE_VISIT'];
  const t: [number, number, number][] = [
    [0, 3, 2],
    [0, 3, 3],
    [0, 3, 4],
    [0, 0, 2],
    [0, 1, 2],
    [0, 0, 6], // a product tail: not an advertiser neighbour
    [1, 2, 5], // onsite only
    [7, 3, 2], // a user absent from the impressions
  ];
  const train = {
    heads: Int32Array.from(t, (x) => x[0]),
    relations: Int32Array.from(t, (x) => x[1]),
    tails: Int32Array.from(t, (x) => x[2]),
    ...(events ? { eventCounts: Int32Array.from(events) } : {}),
    ...(daily
      ? {
          daily: {
            origin: START,
            triple: Int32Array.from(daily, (x) => x[0]),
            day: Int32Array.from(daily, (x) => x[1]),
            events: Int32Array.from(daily, (x) => x[2]),
            ...(attributed ? { attributed: Int32Array.from(attributed) } : {}),
          },
        }
      : {}),
  };
  return { manifest: makeManifest('test', entities, relations, { train }, { from: null, to: new Date(to).toISOString() }), entities, relations, splits: { train } };
}

describe('offsite neighbours from the graph snapshot', () => {
  const cols = impressionColumns([rec('u1', 'a1', 0), rec('u1', 'a2', 1), rec('u2', 'a1', 1), rec('u3', 'a2', 1), rec('u1', 'a3', 2)]);
  const R = OFFSITE_RELATIONS.length;
  const rel = (name: string) => OFFSITE_RELATIONS.indexOf(name as (typeof OFFSITE_RELATIONS)[number]);

  test('per user: distinct advertisers per relation, deepest relation first; counts include advertisers never shown', () => {
    const nb = offsiteNeighbours(smallGraph(START + 2 * DAY), cols);
    const u1 = cols.users.code('u1');
    const a = (id: string) => cols.advertisers.code(id);
    expect(nb.byUser[u1]).toEqual([
      [rel('CHECKOUT'), a('a1')],
      [rel('ADD_TO_CART'), a('a1')],
      [rel('PAGE_VISIT'), a('a1')],
      [rel('PAGE_VISIT'), a('a2')],
    ]);
    expect(Array.from(nb.counts.subarray(u1 * R, u1 * R + R))).toEqual([3, 1, 1, 0, 0]);
    // Without per-triple event counts each triple stands for one event.
    expect(nb.events).toEqual(nb.counts);
    expect(nb.byUser[cols.users.code('u2')]).toEqual([]);
    expect(nb.edges).toBe(5);
  });

  test('with the snapshot\'s event counts: events per relation (advertisers never shown too) and per user × advertiser', () => {
    const nb = offsiteNeighbours(smallGraph(START + 2 * DAY, EVENTS), cols);
    const u1 = cols.users.code('u1');
    const A = cols.advertisers.size;
    expect(Array.from(nb.counts.subarray(u1 * R, u1 * R + R))).toEqual([3, 1, 1, 0, 0]);
    expect(Array.from(nb.events.subarray(u1 * R, u1 * R + R))).toEqual([4 + 1 + 2, 2, 1, 0, 0]);
    // Events per relation, then the attributed ones (none known without the per-day attribution breakdown).
    expect(Array.from(nb.pairEvents.get(u1 * A + cols.advertisers.code('a1'))!)).toEqual([4, 2, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(nb.pairEvents.get(u1 * A + cols.advertisers.code('a2'))!)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(nb.attributed)).toEqual(new Array(nb.attributed.length).fill(0));
    expect(nb.pairEvents.size).toBe(2);
  });

  test('features: per user log(1 + distinct advertisers), opted in, log(1 + organic / attributed events) per relation; per candidate advertiser its events', () => {
    // u1 converted on an a1 impression inside the snapshot (day 0) and on one after it (day 2): the same features.
    const conv = (r: ImpressionRecord): ImpressionRecord => ({ ...r, conversion: 1 });
    const c = impressionColumns([conv(rec('u1', 'a1', 0)), rec('u1', 'a2', 1), rec('u2', 'a1', 1), rec('u3', 'a2', 1), conv(rec('u1', 'a1', 2)), rec('u1', 'a3', 2)]);
    const nb = offsiteNeighbours(smallGraph(START + 2 * DAY, EVENTS), c);
    const f = offsiteFeatures(nb, c);
    const row = (i: number) => Array.from(f.subarray(i * OFFSITE_FEATURES, (i + 1) * OFFSITE_FEATURES));
    const l = Math.log1p;
    // time-sorted: 0 = u1/a1, then day 1 (u1/a2, u2/a1, u3/a2), then day 2 (u1/a1, u1/a3).
    // Without an attribution breakdown every event counts as organic.
    const u1 = [l(3), l(1), l(1), 0, 0, 1, l(7), l(2), l(1), 0, 0, 0, 0, 0, 0, 0];
    const fr = (x: number[]) => x.map(Math.fround);
    // The candidate's advertiser: a1 (4 visits, 2 carts, 1 checkout), a2 (1 visit), a3 (none); organic, then attributed.
    expect(row(0)).toEqual(fr([...u1, l(4), l(2), l(1), 0, 0, 0]));
    expect(row(4)).toEqual(row(0));
    expect(row(1)).toEqual(fr([...u1, l(1), 0, 0, 0, 0, 0]));
    expect(row(5)).toEqual(fr([...u1, 0, 0, 0, 0, 0, 0]));
    expect(row(2)).toEqual(new Array(OFFSITE_FEATURES).fill(0));
    expect(row(3)).toEqual(new Array(OFFSITE_FEATURES).fill(0));
  });

  test('with the per-day breakdown an impression sees only the days before its own; after the snapshot, all of it', () => {
    const c = impressionColumns([rec('u1', 'a1', 0), rec('u1', 'a1', 1.5), rec('u1', 'a2', 1), rec('u2', 'a1', 1), rec('u1', 'a1', 2), rec('u1', 'a3', 2)]);
    const whole = offsiteFeatures(offsiteNeighbours(smallGraph(START + 2 * DAY, EVENTS), c), c);
    const nb = offsiteNeighbours(smallGraph(START + 2 * DAY, EVENTS, DAILY), c);
    // The final state is the whole snapshot's, as without the breakdown.
    expect(Array.from(nb.events)).toEqual(Array.from(offsiteNeighbours(smallGraph(START + 2 * DAY, EVENTS), c).events));
    const f = offsiteFeatures(nb, c);
    const row = (x: Float32Array, i: number) => Array.from(x.subarray(i * OFFSITE_FEATURES, (i + 1) * OFFSITE_FEATURES));
    const l = Math.log1p;
    const fr = (x: number[]) => x.map(Math.fround);
    // time-sorted: 0 = u1/a1 day 0; day 1: 1 = u1/a2, 2 = u2/a1, 3 = u1/a1 (at 12:00); day 2: 4 = u1/a1, 5 = u1/a3.
    expect(row(f, 0)).toEqual(new Array(OFFSITE_FEATURES).fill(0)); // nothing before day 0
    // Day 1 sees day 0: a1 and a9 visited (1 + 2 events), none of the day-1 cart and checkout.
    const day1 = [l(2), 0, 0, 0, 0, 1, l(3), 0, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(row(f, 1)).toEqual(fr([...day1, 0, 0, 0, 0, 0, 0]));
    expect(row(f, 3)).toEqual(fr([...day1, l(1), 0, 0, 0, 0, 0])); // the same day, later: still only day 0 (its own visits are today's)
    expect(row(f, 2)).toEqual(new Array(OFFSITE_FEATURES).fill(0));
    // Day 2 is past the snapshot: everything, the same as without the breakdown.
    expect(row(f, 4)).toEqual(row(whole, 4));
    expect(row(f, 5)).toEqual(row(whole, 5));
    expect(row(f, 4)).toEqual(fr([l(3), l(1), l(1), 0, 0, 1, l(7), l(2), l(1), 0, 0, 0, 0, 0, 0, 0, l(4), l(2), l(1), 0, 0, 0]));
    // With the attribution breakdown, events after an ad click and organic ones apart, day by day too.
    const att = offsiteNeighbours(smallGraph(START + 2 * DAY, EVENTS, DAILY, ATTRIBUTED), c);
    const u1c = c.users.code('u1');
    expect(Array.from(att.attributed.subarray(u1c * R, u1c * R + R))).toEqual([2, 2, 1, 0, 0]);
    expect(Array.from(att.pairEvents.get(u1c * c.advertisers.size + c.advertisers.code('a1'))!)).toEqual([4, 2, 1, 0, 0, 2, 2, 1, 0, 0]);
    const fa = offsiteFeatures(att, c);
    expect(row(fa, 0)).toEqual(new Array(OFFSITE_FEATURES).fill(0));
    expect(row(fa, 3)).toEqual(row(f, 3)); // day 0 had no attributed events
    // After the snapshot: user-level organic 7 − 2 visits, 0 carts, 0 checkouts; attributed 2, 2, 1; at a1: organic 2 visits, attributed 2 visits, 2 carts, 1 checkout.
    expect(row(fa, 4)).toEqual(fr([l(3), l(1), l(1), 0, 0, 1, l(5), 0, 0, 0, 0, l(2), l(2), l(1), 0, 0, l(2), 0, 0, l(2), l(2), l(1)]));
    // In the ranking context the features are these; the tokens stay the whole snapshot's (measured choice).
    const ctx = buildRankingContext(c, null, { evalDays: 1, graph: { set: smallGraph(START + 2 * DAY, EVENTS, DAILY), dir: 'G' }, offsiteTokens: 3 });
    const plain = buildRankingContext(c, null, { evalDays: 1, graph: { set: smallGraph(START + 2 * DAY, EVENTS), dir: 'G' }, offsiteTokens: 3 });
    const a1 = ctx.mappers.advertiser.row('a1');
    expect(Array.from(ctx.offsite!.advertiser.subarray(0, 3))).toEqual([a1, a1, a1]);
    expect(ctx.offsite!.advertiser).toEqual(plain.offsite!.advertiser);
    const trainRow = ctx.split.train[0];
    expect(row(ctx.offsite!.features, trainRow)).not.toEqual(row(plain.offsite!.features, trainRow));
  });

  test('standardized over the training rows: mean 0 and sd 1 there; constant columns only centred', () => {
    const f = Float32Array.from([1, 5, 3, 5, 5, 5, 100, 7]); // 4 rows × 2 columns; the last row is not a training row
    standardizeFeatures(f, 2, [0, 1, 2]);
    // column 0 over rows 0..2: mean 3, sd sqrt(8/3); column 1: constant 5
    const sd = Math.sqrt(8 / 3);
    expect(Array.from(f)).toEqual([-2 / sd, 0, 0, 0, 2 / sd, 0, 97 / sd, 2].map(Math.fround));
  });

  test('the snapshot must end before the evaluation days', () => {
    const leaky = { set: smallGraph(START + 2 * DAY + 1), dir: 'G' };
    expect(() => buildRankingContext(cols, null, { evalDays: 1, graph: leaky })).toThrow(LeakageError);
    expect(() => buildRankingContext(cols, null, { evalDays: 1, graph: leaky })).toThrow(/graph snapshot G were built from data up to .*reaches into the evaluation days/);
    const ok = buildRankingContext(cols, null, { evalDays: 1, graph: { set: smallGraph(START + 2 * DAY), dir: 'G' }, offsiteTokens: 3 });
    // Per impression: the user's first 3 tokens as advertiser table rows (-1 padding), one-hot relation.
    const off = ok.offsite!;
    const i = 0;
    const advRow = (id: string) => ok.mappers.advertiser.row(id);
    expect(Array.from(off.advertiser.subarray(i * 3, i * 3 + 3))).toEqual([advRow('a1'), advRow('a1'), advRow('a1')]);
    expect(Array.from(off.relation.subarray(0, R))).toEqual([0, 0, 1, 0, 0]);
    expect(Array.from(off.advertiser.subarray(2 * 3, 3 * 3))).toEqual([-1, -1, -1]);
    expect(off.users).toBe(1);
  });
});

describe('attention with offsite inputs', () => {
  const w = makeWorld({ users: 60, pins: 40, days: 4 });
  const evalStart = START + 3 * DAY;

  async function context() {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-off-'));
    await writeFixtureExport(dir, w, { windowTo: new Date(evalStart).toISOString() });
    return buildRankingContext(impressionColumns(w.records), await readEmbeddingExport(dir), { evalDays: 1, graph: { set: fixtureGraph(w, evalStart), dir: 'G' } });
  }

  test('tokens and features reach the prediction: dropping a user\'s offsite edges changes it', async () => {
    const ctx = await context();
    expect(ctx.offsite!.users).toBeGreaterThan(20);
    const model = new RankingModel('attention', ctx, null, { seed: 3 });
    expect(model.facts.offsite).toBe('both');
    trainModel(model, ctx, { epochs: 1, batchSize: 128 });
    const idx = Int32Array.from(ctx.split.eval.filter((i) => ctx.offsite!.advertiser[i * ctx.offsite!.tokens] >= 0)).subarray(0, 20);
    const before = predict(model, ctx, idx);
    const stripped = { ...ctx, offsite: { ...ctx.offsite!, advertiser: ctx.offsite!.advertiser.slice().fill(-1), features: new Float32Array(ctx.offsite!.features.length) } };
    // The trained weights in a model built on other inputs (slots and inputs hold the context's arrays).
    const copy = (c: typeof ctx) => {
      const m = new RankingModel('attention', c, null, { seed: 3 });
      m.tables.forEach((t, k) => {
        for (let r = 0; r < t.rows; r++) t.setRow(r, model.tables[k].row(r));
      });
      m.denseVariables.forEach((v, k) => v.assign(model.denseVariables[k]));
      return m;
    };
    const control = copy(ctx);
    expect(Array.from(predict(control, ctx, idx).pCvr)).toEqual(Array.from(before.pCvr));
    const model2 = copy(stripped);
    const after = predict(model2, stripped, idx);
    const diff = before.pCvr.reduce((s, p, k) => s + Math.abs(p - after.pCvr[k]), 0);
    expect(diff).toBeGreaterThan(1e-3);
    control.dispose();
    model.dispose();
    model2.dispose();
  });

  test('--offsite none builds the plain finetuner; a finetuner called with inputs it was not built for throws', async () => {
    const ctx = await context();
    const model = new RankingModel('attention', ctx, null, { offsite: 'none' });
    expect(model.slots.some((s) => s.name === 'offsite_kge')).toBe(false);
    expect(model.inputs).toEqual([]);
    model.dispose();
    const f = new AttentionFinetuner(new SeededRandom(1), 4, { names: [], tailIsPin: [], relDim: 4, proj: new Float32Array(0), offsets: new Float32Array(0) });
    const z = (...s: number[]) => tf.zeros(s);
    expect(() => f.apply(z(2, 4) as tf.Tensor2D, z(2, 4) as tf.Tensor2D, z(2, 4) as tf.Tensor2D, z(2, 3, 4) as tf.Tensor3D, z(2, 3) as tf.Tensor2D, null, z(2, OFFSITE_FEATURES) as tf.Tensor2D)).toThrow(
      /do not match how the finetuner was built/,
    );
    tf.dispose(f.variables);
  });
});
