import * as os from 'os';
import * as path from 'path';
import { promises as fs } from 'fs';
import { ImpressionRecord } from '../src/common/impression';
import { clickHistories, impressionColumns, readEmbeddingExport, readImpressions, sparseUsers, timeSplit } from '../src/ranking/data';
import { LeakageError, buildRankingContext, checkEmbeddingWindow } from '../src/ranking/training';
import { DAY, START, makeWorld, writeFixtureExport, writeWorld } from './ranking-fixtures';

const rec = (userId: string, pinId: string, day: number, minute: number, click: 0 | 1, conversion: 0 | 1 = 0): ImpressionRecord => ({
  eventId: `${userId}-${pinId}-${day}-${minute}`,
  ts: START + day * DAY + minute * 60_000,
  userId,
  pinId,
  advertiserId: 'a1',
  click,
  conversion,
});

describe('time split, histories, sparse users', () => {
  const records = [
    rec('u1', 'p1', 0, 10, 1),
    rec('u1', 'p2', 0, 20, 0),
    rec('u1', 'p3', 1, 0, 1, 1),
    rec('u1', 'p4', 1, 0, 0), // same instant as p3's click: must not see it
    rec('u1', 'p5', 2, 5, 1),
    rec('u2', 'p1', 2, 30, 0),
    rec('u1', 'p6', 3, 0, 0),
  ];
  const cols = impressionColumns([...records].reverse()); // any input order: columns come out sorted by time

  test('the last N calendar days are held out', () => {
    const s = timeSplit(cols, 2);
    expect(s.evalStart).toBe(START + 2 * DAY);
    expect(Array.from(s.train, (i) => cols.pins.ids[cols.pin[i]]).sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(Array.from(s.eval, (i) => cols.pins.ids[cols.pin[i]])).toEqual(['p5', 'p1', 'p6']);
    expect(() => timeSplit(cols, 4)).toThrow(/spans 4 day\(s\).*leaves no training days/);
    expect(() => timeSplit(cols, 0)).toThrow(/--eval-days must be an integer ≥ 1/);
  });

  test('histories hold the clicks strictly before each impression, most recent first', () => {
    const h = clickHistories(cols, 2);
    const at = (pin: string, user = 'u1') => {
      const i = Array.from({ length: cols.n }, (_, k) => k).find((k) => cols.pins.ids[cols.pin[k]] === pin && cols.users.ids[cols.user[k]] === user)!;
      return Array.from(h.subarray(i * 2, i * 2 + 2), (c) => (c < 0 ? '-' : cols.pins.ids[c]));
    };
    expect(at('p1')).toEqual(['-', '-']);
    expect(at('p2')).toEqual(['p1', '-']);
    expect(at('p4')).toEqual(['p1', '-']);
    expect(at('p5')).toEqual(['p3', 'p1']);
    expect(at('p6')).toEqual(['p5', 'p3']);
    expect(at('p1', 'u2')).toEqual(['-', '-']);
  });

  test('sparse users have at most 3 training impressions', () => {
    const s = timeSplit(cols, 2);
    const sp = sparseUsers(cols, s.train);
    expect(sp[cols.users.code('u1')]).toBe(0); // 4 training impressions
    expect(sp[cols.users.code('u2')]).toBe(1); // none
  });

  test('reads truth.jsonl (with oracle probabilities) and impressions.jsonl, with errors naming the line', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-data-'));
    const w = makeWorld({ users: 20, pins: 10, days: 3 });
    await writeWorld(dir, w);
    const c = await readImpressions(dir);
    expect(c.n).toBe(w.records.length);
    expect(c.pClick).not.toBeNull();
    const dir2 = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-data-'));
    await fs.writeFile(path.join(dir2, 'impressions.jsonl'), JSON.stringify(rec('u', 'p', 0, 0, 1)) + '\n{"userId":"u","pinId":"p","advertiserId":"a","ts":1,"click":2}\n');
    await expect(readImpressions(dir2)).rejects.toThrow(/impressions.jsonl line 2: click must be 0 or 1/);
    await expect(readImpressions(path.join(dir2, 'nope'))).rejects.toThrow(/does not exist/);
  });
});

describe('leakage refusal', () => {
  const w = makeWorld({ users: 30, pins: 20, days: 5 });
  const cols = impressionColumns(w.records);
  const evalStart = START + 3 * DAY;

  test('refuses embeddings whose window reaches into the evaluation days, saying why', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-leak-'));
    await writeFixtureExport(dir, w, { windowTo: new Date(START + 4 * DAY).toISOString() });
    const emb = await readEmbeddingExport(dir);
    expect(() => buildRankingContext(cols, emb, { evalDays: 2 })).toThrow(LeakageError);
    expect(() => buildRankingContext(cols, emb, { evalDays: 2 })).toThrow(
      new RegExp(`up to ${new Date(START + 4 * DAY).toISOString()}.*reaches into the evaluation days that start at ${new Date(evalStart).toISOString()}`),
    );
    // With only one evaluation day the same embeddings end exactly where evaluation starts: accepted.
    expect(() => buildRankingContext(cols, emb, { evalDays: 1 })).not.toThrow();
  });

  test('refuses an unknown window unless explicitly allowed', () => {
    const m = { window: { from: null, to: null } } as never;
    expect(() => checkEmbeddingWindow(m, 'E', evalStart, 2)).toThrow(/window.to is null/);
    expect(() => checkEmbeddingWindow(m, 'E', evalStart, 2, true)).not.toThrow();
    const inside = { window: { from: null, to: new Date(evalStart + 1).toISOString() } } as never;
    expect(() => checkEmbeddingWindow(inside, 'E', evalStart, 2)).toThrow(LeakageError);
  });
});
