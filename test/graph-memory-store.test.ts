import { existsSync, promises as fs, readdirSync } from 'fs';
import * as path from 'path';
import { makeManifest, readTripleSet, TripleSet, writeTripleSet } from '../src/common/triple-set';
import { buildSnapshot, ingestFiles, IngestSummary, MemoryStore, writeSyntheticEventFile } from '../src/graph';
import { laneOf } from '../src/graph/ingest/ingest';
import { FIXTURES, runCli, tmpDir } from './fixtures/graph/helpers';

const JSONL = path.join(FIXTURES, 'events.jsonl');
const CSV = path.join(FIXTURES, 'events.csv');

function accounted(s: IngestSummary): number {
  return s.stored + s.duplicates + s.rejected + s.droppedNoConsent + s.droppedErased + s.catalog;
}

/** "Type:id -REL-> Type:id" strings of a TripleSet's train split, for readable assertions. */
function tripleStrings(ts: TripleSet): string[] {
  const t = ts.splits.train!;
  const name = (i: number) => `${ts.entities[i].type}:${ts.entities[i].id}`;
  return Array.from(t.heads, (h, i) => `${name(h)} -${ts.relations[t.relations[i]]}-> ${name(t.tails[i])}`);
}

async function ingestInto(db: string, files: string[], batchSize = 4): Promise<IngestSummary> {
  const store = await MemoryStore.open({ dbPath: db });
  try {
    return await ingestFiles(store, files, { batchSize });
  } finally {
    await store.close();
  }
}

async function snapshotOf(db: string, window = { from: null as number | null, to: null as number | null }, minDegree = 0): Promise<TripleSet> {
  const store = await MemoryStore.open({ dbPath: db, readOnly: true });
  return buildSnapshot(await store.snapshotEdges(window), { window, minDegree, source: 'snapshot:memory' });
}

describe('MemoryStore ingestion', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
  });

  test('valid, invalid, duplicate and no-consent events are counted and only valid ones stored', async () => {
    const db = path.join(dir, 'g.jsonl');
    const s = await ingestInto(db, [JSONL]);
    expect(s).toMatchObject({ read: 19, stored: 8, duplicates: 1, rejected: 3, droppedNoConsent: 2, droppedErased: 0, catalog: 5 });
    expect(accounted(s)).toBe(s.read);
    expect(s.rejects.map((r) => [r.line, r.field])).toEqual([
      [13, 'ts'],
      [14, 'action'],
      [15, '(line)'],
    ]);
    const store = await MemoryStore.open({ dbPath: db, readOnly: true });
    const counts = await store.counts();
    expect(counts.events).toBe(8);
    // e5 (page_visit) and e9 (signup) had no consent: stored nowhere, not even in the file.
    expect(counts.interactionEdges.PAGE_VISIT).toBeUndefined();
    expect(counts.interactionEdges.SIGNUP).toBeUndefined();
    const file = await fs.readFile(db, 'utf8');
    expect(file).not.toMatch(/"e5"|"e9"/);
    // e4 (checkout with a product) gives two edges: user→advertiser and user→product.
    expect(counts.interactionEdges.CHECKOUT).toBe(2);
    expect(counts.structuralEdges.SOLD_BY).toBe(1);
  });

  test('re-ingesting a file stores nothing new and leaves the store as it was', async () => {
    const db = path.join(dir, 'g.jsonl');
    await ingestInto(db, [JSONL]);
    const before = await (await MemoryStore.open({ dbPath: db, readOnly: true })).counts();
    const again = await ingestInto(db, [JSONL], 3);
    expect(again.stored).toBe(0);
    expect(again.duplicates).toBe(9);
    expect(await (await MemoryStore.open({ dbPath: db, readOnly: true })).counts()).toEqual(before);
  });

  test('several writes in flight (one lane of users each) store the same graph as one', async () => {
    const file = path.join(dir, 'lanes.jsonl');
    await writeSyntheticEventFile(file, { events: 3000, seed: 4, duplicateShare: 0.05 });
    const run = async (db: string, concurrency: number) => {
      const store = await MemoryStore.open({ dbPath: db });
      try {
        return await ingestFiles(store, [file], { batchSize: 97, concurrency });
      } finally {
        await store.close();
      }
    };
    const one = await run(path.join(dir, 'one.jsonl'), 1);
    const three = await run(path.join(dir, 'three.jsonl'), 3);
    const { seconds: _a, eventsPerSecond: _b, store: _s1, ...oneCounts } = one;
    const { seconds: _c, eventsPerSecond: _d, store: _s3, ...threeCounts } = three;
    expect(threeCounts).toEqual(oneCounts);
    expect(one.stored).toBeGreaterThan(2500);
    expect(tripleStrings(await snapshotOf(path.join(dir, 'three.jsonl')))).toEqual(tripleStrings(await snapshotOf(path.join(dir, 'one.jsonl'))));
  });

  test('laneOf spreads users over the lanes and keeps each user in one', () => {
    const counts = [0, 0, 0];
    for (let u = 0; u < 3000; u++) counts[laneOf(`u${u}`, 3)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(laneOf('u42', 3)).toBe(laneOf('u42', 3));
    expect(laneOf('anything', 1)).toBe(0);
  });

  test('CSV with a header row gives the same graph as the same events in JSONL', async () => {
    const fromCsv = await ingestInto(path.join(dir, 'csv.jsonl'), [CSV]);
    expect(fromCsv).toMatchObject({ read: 19, stored: 8, duplicates: 1, rejected: 3, droppedNoConsent: 2, catalog: 5 });
    expect(fromCsv.rejects.map((r) => [r.line, r.field])).toEqual([
      [14, 'ts'],
      [15, 'action'],
      [16, '(row)'],
    ]);
    await ingestInto(path.join(dir, 'json.jsonl'), [JSONL]);
    const a = await snapshotOf(path.join(dir, 'csv.jsonl'));
    const b = await snapshotOf(path.join(dir, 'json.jsonl'));
    expect(a.entities).toEqual(b.entities);
    expect(tripleStrings(a)).toEqual(tripleStrings(b));
  });

  test('erasure removes the user, its edges and events, and the user does not come back on re-ingest', async () => {
    const db = path.join(dir, 'g.jsonl');
    await ingestInto(db, [JSONL]);
    const store = await MemoryStore.open({ dbPath: db });
    expect(await store.eraseUser('u1')).toEqual({ userFound: true, events: 4 });
    await store.close();
    const counts = await (await MemoryStore.open({ dbPath: db, readOnly: true })).counts();
    expect(counts.events).toBe(4);
    expect(counts.nodes.User).toBe(2);
    expect(await fs.readFile(db, 'utf8')).not.toContain('"u1"');
    const again = await ingestInto(db, [JSONL]);
    expect(again.droppedErased).toBe(5); // e1, e2 twice, e4, e11
    expect(again.stored).toBe(0);
    const snap = await snapshotOf(db);
    expect(snap.entities.some((e) => e.type === 'User' && e.id === 'u1')).toBe(false);
    expect(tripleStrings(snap).some((t) => t.includes('User:u1 '))).toBe(false);
  });

  test('snapshot: exact half-open windows, structural edges for present heads, deterministic order', async () => {
    const db = path.join(dir, 'g.jsonl');
    await ingestInto(db, [JSONL]);
    const e4 = Date.parse('2026-01-02T09:00:00Z');
    const e6 = Date.parse('2026-01-03T10:00:00Z');
    const snap = await snapshotOf(db, { from: e4, to: e6 + 1 });
    expect(tripleStrings(snap)).toEqual([
      'Product:sku-9 -SOLD_BY-> Advertiser:a1',
      'User:u1 -CHECKOUT-> Advertiser:a1',
      'User:u1 -CHECKOUT-> Product:sku-9',
      'User:u2 -ADD_TO_CART-> Advertiser:a1',
      'User:u2 -ADD_TO_CART-> Product:sku-9',
    ]);
    expect(snap.manifest.window).toEqual({ from: '2026-01-02T09:00:00.000Z', to: '2026-01-03T10:00:00.001Z' });
    // `to` is exclusive: an event exactly at `to` is left out; `from` is inclusive.
    const upToE6 = tripleStrings(await snapshotOf(db, { from: e4, to: e6 }));
    expect(upToE6.filter((t) => t.startsWith('User:u2'))).toEqual([]);
    const full = await snapshotOf(db);
    expect(full.relations).toEqual([...full.relations].sort());
    expect(full.entities.map((e) => `${e.type}:${e.id}`)).toEqual(full.entities.map((e) => `${e.type}:${e.id}`).sort());
    // A pin present brings its advertiser and category.
    expect(tripleStrings(full)).toEqual(expect.arrayContaining(['Pin:p1 -PROMOTED_BY-> Advertiser:a1', 'Pin:p1 -IN_CATEGORY-> Category:c-decor']));
  });

  test('snapshot --min-degree leaves only entities with at least that many triples', async () => {
    const db = path.join(dir, 'g.jsonl');
    const file = path.join(dir, 'events.jsonl');
    await writeSyntheticEventFile(file, { events: 3000, seed: 7 });
    await ingestInto(db, [file], 500);
    const full = await snapshotOf(db);
    for (const k of [2, 5]) {
      const snap = await snapshotOf(db, { from: null, to: null }, k);
      const t = snap.splits.train!;
      const degree = new Array(snap.entities.length).fill(0);
      for (let i = 0; i < t.heads.length; i++) {
        degree[t.heads[i]]++;
        degree[t.tails[i]]++;
      }
      expect(Math.min(...degree)).toBeGreaterThanOrEqual(k);
      expect(snap.entities.length).toBeLessThan(full.entities.length);
      expect(snap.entities.length).toBeGreaterThan(0);
    }
  });

  test('every snapshot triple comes from an event inside the window, and counts its events (synthetic data, several windows)', async () => {
    const db = path.join(dir, 'g.jsonl');
    const file = path.join(dir, 'events.jsonl');
    const start = Date.UTC(2026, 0, 1);
    await writeSyntheticEventFile(file, { events: 4000, seed: 3, startMs: start, spanMs: 10 * 86400000 });
    await ingestInto(db, [file], 700);
    const lines = (await fs.readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    let repeated = 0;
    for (const [fromDay, toDay] of [[0, 3], [2, 2.5], [7, 10]]) {
      const window = { from: start + fromDay * 86400000, to: start + toDay * 86400000 };
      const expected = new Map<string, number>();
      const expectedDaily = new Map<string, number>();
      const expectedAttributed = new Map<string, number>();
      const ids = new Set<string>();
      let ts = 0;
      const add = (k: string, attributed = 0) => {
        expected.set(k, (expected.get(k) ?? 0) + 1);
        const d = `${k} @${new Date(ts).toISOString().slice(0, 10)}`;
        expectedDaily.set(d, (expectedDaily.get(d) ?? 0) + 1);
        expectedAttributed.set(d, (expectedAttributed.get(d) ?? 0) + attributed);
      };
      for (const o of lines) {
        if (o.kind !== 'onsite' && o.kind !== 'offsite') continue;
        if (!o.pinId && o.kind === 'onsite') continue; // the generator's invalid lines
        if (o.kind === 'offsite' && o.consent !== true) continue;
        if (ids.has(o.eventId)) continue; // a repeated line is one event
        ids.add(o.eventId);
        ts = typeof o.ts === 'number' ? o.ts : Date.parse(o.ts);
        if (ts < window.from || ts >= window.to) continue;
        const rel = { impression: 'IMPRESSED', click: 'CLICKED', save: 'SAVED', closeup: 'CLOSEUP', hide: 'HID', page_visit: 'PAGE_VISIT', add_to_cart: 'ADD_TO_CART', checkout: 'CHECKOUT', signup: 'SIGNUP', lead: 'LEAD' }[o.action as string];
        if (o.kind === 'onsite') add(`User:${o.userId} -${rel}-> Pin:${o.pinId}`);
        else {
          add(`User:${o.userId} -${rel}-> Advertiser:${o.advertiserId}`, o.pinId ? 1 : 0); // attributed: names the ad pin
          if (o.productId) add(`User:${o.userId} -${rel}-> Product:${o.productId}`);
        }
      }
      const snap = await snapshotOf(db, window);
      const counts = snap.splits.train!.eventCounts!;
      const got = new Map<string, number>();
      tripleStrings(snap).forEach((t, i) => {
        if (t.startsWith('User:')) got.set(t, counts[i]);
        else expect({ t, events: counts[i] }).toEqual({ t, events: 0 }); // structural
      });
      expect(got).toEqual(expected);
      expect(snap.manifest.eventCountFiles).toEqual({ train: 'train.events.bin' });
      // The same events by UTC day: day 0 is the window's first day with an event.
      const daily = snap.splits.train!.daily!;
      const strings = tripleStrings(snap);
      const gotDaily = new Map<string, number>();
      const gotAttributed = new Map<string, number>();
      for (let k = 0; k < daily.triple.length; k++) {
        const d = `${strings[daily.triple[k]]} @${new Date(daily.origin + daily.day[k] * 86400000).toISOString().slice(0, 10)}`;
        gotDaily.set(d, daily.events[k]);
        gotAttributed.set(d, daily.attributed![k]);
      }
      expect(gotDaily).toEqual(expectedDaily);
      expect(gotAttributed).toEqual(expectedAttributed);
      // Both kinds occur: the generator sends a third of offsite events without a pin (organic).
      const attributedTotal = [...gotAttributed.values()].reduce((a, b) => a + b, 0);
      const offsiteTotal = [...gotDaily.entries()].filter(([d]) => d.includes('-> Advertiser:')).reduce((a, [, n]) => a + n, 0);
      expect(attributedTotal).toBeGreaterThan(0);
      expect(attributedTotal).toBeLessThan(offsiteTotal);
      expect(daily.origin).toBe(Math.floor(window.from / 86400000) * 86400000);
      expect(snap.manifest.daily).toEqual({ origin: new Date(daily.origin).toISOString(), files: { train: 'train.daily.bin' }, attributedFiles: { train: 'train.daily-attributed.bin' } });
      repeated += [...expected.values()].filter((n) => n > 1).length;
    }
    // The skewed generator repeats (user, relation, target) often: the counts are not all 1.
    expect(repeated).toBeGreaterThan(50);
  });
});

describe('MemoryStore file', () => {
  test('persists across opens, and a crash while writing leaves the previous file intact', async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'g.jsonl');
    await ingestInto(db, [JSONL]);
    const before = await fs.readFile(db, 'utf8');
    const big = path.join(dir, 'big.jsonl');
    await writeSyntheticEventFile(big, { events: 150000, seed: 11 });
    const run = runCli(['ingest', big, '--db', db, '--json']);
    // Kill the writer the moment its temporary file appears: it is mid-save.
    const deadline = Date.now() + 110000;
    while (!readdirSync(dir).some((f) => f.startsWith('g.jsonl.tmp-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    run.child.kill('SIGKILL');
    await run;
    expect(readdirSync(dir).some((f) => f.startsWith('g.jsonl.tmp-'))).toBe(true);
    expect(await fs.readFile(db, 'utf8')).toBe(before);
    // The dead writer's lock is stale: the next writer takes it over, and the store loads as before.
    const store = await MemoryStore.open({ dbPath: db });
    expect((await store.counts()).events).toBe(8);
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  }, 180000);

  test('a second writer is refused while the first holds the store', async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'g.jsonl');
    const holder = await MemoryStore.open({ dbPath: db });
    const r = await runCli(['ingest', JSONL, '--db', db]);
    await holder.close();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`being written by process ${process.pid}`);
    expect(existsSync(db)).toBe(false);
  });

  test('a file that is not a store is reported with its line', async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'g.jsonl');
    await fs.writeFile(db, '{"format":"something-else"}\n');
    await expect(MemoryStore.open({ dbPath: db, readOnly: true })).rejects.toThrow(/line 1: not an adkg memory store/);
  });
});

describe('adkg ingest / erase / snapshot on the memory store', () => {
  test('commands chain through --db; --json summary; exit codes', async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'g.jsonl');
    const ing = await runCli(['ingest', JSONL, '--db', db, '--json', '--batch', '5']);
    expect(ing.code).toBe(0);
    const summary = JSON.parse(ing.stdout);
    expect(summary).toMatchObject({ read: 19, stored: 8, duplicates: 1, rejected: 3, droppedNoConsent: 2 });
    expect(typeof summary.seconds).toBe('number');
    expect(typeof summary.eventsPerSecond).toBe('number');
    expect(summary.rejects[0]).toMatchObject({ line: 13, field: 'ts' });

    const missing = await runCli(['ingest', JSONL, path.join(dir, 'nope.jsonl'), '--db', path.join(dir, 'other.jsonl')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('nope.jsonl');
    expect(existsSync(path.join(dir, 'other.jsonl'))).toBe(false); // checked before anything was written

    const erase = await runCli(['erase', '--user', 'u2', '--db', db, '--json']);
    expect(erase.code).toBe(0);
    expect(JSON.parse(erase.stdout)).toEqual({ userId: 'u2', userFound: true, events: 2 });

    const out = path.join(dir, 'snap');
    const snap = await runCli(['snapshot', '--db', db, '--out', out, '--from', '2026-01-01T00:00:00Z', '--to', '1767916800000']);
    expect(snap.code).toBe(0);
    const ts = await readTripleSet(out);
    expect(ts.manifest.source).toBe('snapshot:memory');
    expect(ts.manifest.window).toEqual({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-09T00:00:00.000Z' });
    expect(ts.entities.some((e) => e.id === 'u2')).toBe(false);
    expect(ts.manifest.counts.train).toBe(ts.splits.train!.heads.length);

    const bad = await runCli(['snapshot', '--db', db, '--out', out, '--from', 'last week']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--from');
  }, 60000);
});

describe('per-triple event counts in the TripleSet', () => {
  test('written beside train.bin with their per-day breakdown, listed in the manifest; a reader that ignores them sees the same triples', async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'g.jsonl');
    const file = path.join(dir, 'events.jsonl');
    await writeSyntheticEventFile(file, { events: 3000, seed: 4, startMs: Date.UTC(2026, 0, 1), spanMs: 3 * 86400000 });
    await ingestInto(db, [file], 500);
    const snap = await snapshotOf(db);
    const withCounts = path.join(dir, 'with');
    await writeTripleSet(withCounts, snap);
    const back = await readTripleSet(withCounts);
    expect(back.manifest.eventCountFiles).toEqual({ train: 'train.events.bin' });
    expect(back.splits.train!.eventCounts).toEqual(snap.splits.train!.eventCounts);
    // Every stored event is behind its user→target triple (offsite events with a product behind two).
    const total = back.splits.train!.eventCounts!.reduce((a, b) => a + b, 0);
    const store = await MemoryStore.open({ dbPath: db, readOnly: true });
    const c = await store.counts();
    expect(total).toBe(Object.values(c.interactionEdges).reduce((a, b) => a + b, 0));

    // The same triples without counts: train.bin is byte-identical, so KGE training reads exactly what it did.
    const { eventCounts, daily: breakdown, ...plain } = snap.splits.train!;
    expect(eventCounts!.length).toBe(plain.heads.length);
    expect(breakdown!.triple.length).toBeGreaterThanOrEqual(plain.heads.length / 2);
    const without = path.join(dir, 'without');
    await writeTripleSet(without, { ...snap, manifest: makeManifest('x', snap.entities, snap.relations, { train: plain }), splits: { train: plain } });
    expect((await fs.readFile(path.join(without, 'train.bin'))).equals(await fs.readFile(path.join(withCounts, 'train.bin')))).toBe(true);
    expect(existsSync(path.join(without, 'train.events.bin'))).toBe(false);
    const old = await readTripleSet(without);
    expect(old.manifest.eventCountFiles).toBeUndefined();
    expect(old.splits.train!.eventCounts).toBeUndefined();
    expect(old.splits.train!.heads).toEqual(back.splits.train!.heads);

    // The per-day breakdown round-trips; a reader that ignores it (no `daily` in the manifest) sees no trace of it.
    expect(back.manifest.daily?.files).toEqual({ train: 'train.daily.bin' });
    expect(back.splits.train!.daily).toEqual(snap.splits.train!.daily);
    expect(new Set(back.splits.train!.daily!.day).size).toBeGreaterThan(1);
    expect(existsSync(path.join(without, 'train.daily.bin'))).toBe(false);
    expect(old.splits.train!.daily).toBeUndefined();

    // A breakdown that does not add up to the event counts, or is out of order, is refused.
    const daily = snap.splits.train!.daily!;
    const more = { ...daily, events: Int32Array.from(daily.events, (e, k) => (k === 0 ? e + 1 : e)) };
    await expect(writeTripleSet(path.join(dir, 'bad'), { ...snap, splits: { train: { ...snap.splits.train!, daily: more } } })).rejects.toThrow(
      `triple ${daily.triple[0]} has ${eventCounts![daily.triple[0]] + 1} events by day but an event count of ${eventCounts![daily.triple[0]]}`,
    );
    // Attributed events above a day's events, or a breakdown of the wrong length, are refused too.
    const k0 = daily.attributed!.findIndex((a) => a > 0);
    const over = { ...daily, attributed: Int32Array.from(daily.attributed!, (a, k) => (k === k0 ? daily.events[k] + 1 : a)) };
    await expect(writeTripleSet(path.join(dir, 'bad'), { ...snap, splits: { train: { ...snap.splits.train!, daily: over } } })).rejects.toThrow(
      `daily entry ${k0} has ${daily.events[k0] + 1} attributed of ${daily.events[k0]} events`,
    );
    const short = { ...daily, attributed: daily.attributed!.subarray(1) };
    await expect(writeTripleSet(path.join(dir, 'bad'), { ...snap, splits: { train: { ...snap.splits.train!, daily: short } } })).rejects.toThrow(
      `${daily.triple.length - 1} attributed counts for ${daily.triple.length} daily entries`,
    );
    const swapped = { ...daily, day: Int32Array.from(daily.day) };
    const k = daily.triple.findIndex((t, i) => i > 0 && t === daily.triple[i - 1]);
    [swapped.day[k - 1], swapped.day[k]] = [swapped.day[k], swapped.day[k - 1]];
    await expect(writeTripleSet(path.join(dir, 'bad'), { ...snap, splits: { train: { ...snap.splits.train!, daily: swapped } } })).rejects.toThrow(
      `daily entry ${k} is out of (triple, day) order`,
    );

    // A breakdown without attribution (an older snapshot) reads as before; a listed counts file of the wrong size is refused, naming it.
    const { attributed, ...unattributed } = daily;
    expect(attributed!.some((a) => a > 0)).toBe(true);
    const older = path.join(dir, 'older');
    const olderSplit = { ...snap.splits.train!, daily: unattributed };
    await writeTripleSet(older, { ...snap, manifest: makeManifest('x', snap.entities, snap.relations, { train: olderSplit }), splits: { train: olderSplit } });
    expect(existsSync(path.join(older, 'train.daily-attributed.bin'))).toBe(false);
    const olderBack = await readTripleSet(older);
    expect(olderBack.manifest.daily?.attributedFiles).toBeUndefined();
    expect(olderBack.splits.train!.daily!.attributed).toBeUndefined();
    expect(olderBack.splits.train!.daily!.events).toEqual(daily.events);
    await fs.writeFile(path.join(withCounts, 'train.daily-attributed.bin'), Buffer.alloc(8));
    await expect(readTripleSet(withCounts)).rejects.toThrow(/train\.daily-attributed\.bin: size 8 bytes, expected \d+ \(one int32 per day entry\)/);
    await fs.writeFile(path.join(withCounts, 'train.events.bin'), Buffer.alloc(8));
    await expect(readTripleSet(withCounts)).rejects.toThrow(/train\.events\.bin: size 8 bytes, expected \d+/);
  });
});
