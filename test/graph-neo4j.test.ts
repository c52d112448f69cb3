/**
 * Neo4jStore against the real, shared Neo4j (NEO4J_URI, default bolt://127.0.0.1:7687; `npm test` starts it).
 * Everything here lives under a fresh label namespace that is dropped at the end, so parallel users of
 * the same server neither see nor disturb it.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { Driver } from 'neo4j-driver';
import { writeTripleSet } from '../src/common/triple-set';
import {
  buildSnapshot,
  GraphStore,
  ingestFiles,
  MemoryStore,
  Neo4jStore,
  neo4jSettingsFromEnv,
  runReadOnlyQuery,
  TimeWindow,
  writeSyntheticEventFile,
} from '../src/graph';
import { FIXTURES, freePort, runCli, tmpDir } from './fixtures/graph/helpers';

jest.setTimeout(300000);

const JSONL = path.join(FIXTURES, 'events.jsonl');
const NS = `t${process.pid}x${Date.now() % 1e6}`;
const SNAPSHOT_FILES = ['entities.json', 'relations.json', 'train.bin', 'train.events.bin', 'train.daily.bin', 'train.daily-attributed.bin'];

let neo: Neo4jStore;
let driver: Driver;
let dir: string;

async function snapshotFiles(store: GraphStore, window: TimeWindow, minDegree: number, out: string): Promise<Record<string, Buffer>> {
  const ts = buildSnapshot(await store.snapshotEdges(window), { window, minDegree, source: `snapshot:${store.kind}` });
  await writeTripleSet(out, ts);
  const files: Record<string, Buffer> = {};
  for (const f of SNAPSHOT_FILES) files[f] = await fs.readFile(path.join(out, f));
  const manifest = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
  delete manifest.created;
  delete manifest.source;
  files['manifest.json'] = Buffer.from(JSON.stringify(manifest));
  return files;
}

/** Checks both stores give the same files; returns the triples and the most events behind one triple. */
async function expectSameSnapshots(mem: GraphStore, window: TimeWindow, minDegree: number, store: GraphStore): Promise<{ triples: number; maxEvents: number; days: number }> {
  const a = await snapshotFiles(mem, window, minDegree, path.join(dir, `mem-${Math.random()}`));
  const b = await snapshotFiles(store, window, minDegree, path.join(dir, `neo-${Math.random()}`));
  for (const f of Object.keys(a)) expect({ file: f, same: a[f].equals(b[f]) }).toEqual({ file: f, same: true });
  const events = a['train.events.bin'];
  let maxEvents = 0;
  for (let i = 0; i < events.length; i += 4) maxEvents = Math.max(maxEvents, events.readInt32LE(i));
  const daily = a['train.daily.bin'];
  const days = new Set<number>();
  for (let i = daily.length / 3; i < (2 * daily.length) / 3; i += 4) days.add(daily.readInt32LE(i));
  // Some events followed an ad click (the generator sends two thirds of offsite events with a pin): the attributed file is not all zeros.
  const attributed = a['train.daily-attributed.bin'];
  let attributedEvents = 0;
  for (let i = 0; i < attributed.length; i += 4) attributedEvents += attributed.readInt32LE(i);
  if (daily.length > 0) expect(attributedEvents).toBeGreaterThan(0);
  return { triples: a['train.bin'].length / 12, maxEvents, days: days.size };
}

beforeAll(async () => {
  dir = tmpDir();
  const { uri } = neo4jSettingsFromEnv();
  try {
    neo = await Neo4jStore.open({ namespace: NS, maxRetryTimeMs: 30000 });
  } catch (e) {
    throw new Error(`these tests need the real Neo4j at ${uri} (npm run services:up): ${(e as Error).message}`);
  }
  driver = neo.driver;
});

afterAll(async () => {
  if (neo) {
    await neo.dropNamespace();
    await neo.close();
  }
  await fs.rm(dir, { recursive: true, force: true });
});

// Both write paths against the same server: the adkg.writeEvents procedure (the launcher registers it) and the
// plain Cypher statements a server without it gets. Each in its own namespace, each held to the memory store.
describe.each(['procedure', 'cypher'] as const)('Neo4jStore, %s write path', (writePath) => {
  let mem: MemoryStore;
  let neo: Neo4jStore;
  const ns = `${NS}${writePath[0]}`;

  beforeAll(async () => {
    neo = await Neo4jStore.open({ namespace: ns, maxRetryTimeMs: 30000, writePath });
  });

  afterAll(async () => {
    await neo?.dropNamespace();
    await neo?.close();
  });

  test('the store writes through the path asked for', () => {
    expect(neo.writePath).toBe(writePath);
  });

  test('valid, invalid, duplicate and no-consent events: the same accounting as the memory store', async () => {
    mem = await MemoryStore.open({ dbPath: path.join(dir, `mem-${writePath}.jsonl`) });
    const m = await ingestFiles(mem, [JSONL], { batchSize: 4 });
    const n = await ingestFiles(neo, [JSONL], { batchSize: 4 });
    const fields = ['read', 'stored', 'duplicates', 'rejected', 'droppedNoConsent', 'droppedErased', 'catalog'] as const;
    for (const f of fields) expect({ f, n: n[f] }).toEqual({ f, n: m[f] });
    expect(n).toMatchObject({ read: 19, stored: 8, duplicates: 1, rejected: 3, droppedNoConsent: 2, catalog: 5 });
    expect(n.rejects).toEqual(m.rejects);
    const counts = await neo.counts();
    expect(counts).toEqual(await mem.counts());
    expect(counts.events).toBe(8);
    // No-consent events (e5, e9) left no trace.
    const trace = await driver.executeQuery(`MATCH (e:\`${ns}_Event\`) WHERE e.id IN ['e5','e9'] RETURN count(e) AS n`);
    expect(trace.records[0].get('n').toNumber()).toBe(0);
  });

  test('re-ingesting a file stores nothing new', async () => {
    const before = await neo.counts();
    const again = await ingestFiles(neo, [JSONL], { batchSize: 3 });
    expect(again.stored).toBe(0);
    expect(again.duplicates).toBe(9);
    expect(await neo.counts()).toEqual(before);
  });

  test('the same events give byte-identical snapshots from both stores (whole graph, windows, min-degree)', async () => {
    const file = path.join(dir, 'synthetic.jsonl');
    await writeSyntheticEventFile(file, { events: 6000, seed: 5, startMs: Date.UTC(2026, 0, 1), spanMs: 6 * 86400000 });
    const m = await ingestFiles(mem, [file], { batchSize: 1000 });
    const n = await ingestFiles(neo, [file], { batchSize: 1000, concurrency: 2 });
    expect(n.stored).toBe(m.stored);
    expect(n.duplicates).toBe(m.duplicates);
    expect(await neo.counts()).toEqual(await mem.counts());
    const day = 86400000;
    const t0 = Date.UTC(2026, 0, 1);
    const whole = await expectSameSnapshots(mem, { from: null, to: null }, 0, neo);
    expect(whole.triples).toBeGreaterThan(3000);
    // Repeated (user, relation, target) events: the counts file holds more than ones.
    expect(whole.maxEvents).toBeGreaterThan(1);
    // ... and the per-day breakdown covers the six days.
    expect(whole.days).toBe(6);
    expect((await expectSameSnapshots(mem, { from: t0 + day, to: t0 + 2.5 * day }, 0, neo)).triples).toBeGreaterThan(100);
    expect((await expectSameSnapshots(mem, { from: t0 + 3 * day, to: null }, 3, neo)).triples).toBeGreaterThan(100);
  });

  test('two ingests of the same file at once store every event exactly once', async () => {
    const file = path.join(dir, 'race.jsonl');
    await writeSyntheticEventFile(file, { events: 4000, seed: 9, startMs: Date.UTC(2026, 1, 1), duplicateShare: 0.05 });
    const [a, b] = await Promise.all([
      ingestFiles(neo, [file], { batchSize: 500, concurrency: 2 }),
      ingestFiles(neo, [file], { batchSize: 700, concurrency: 2 }),
    ]);
    const m = await ingestFiles(mem, [file], { batchSize: 1000 });
    expect(a.stored + b.stored).toBe(m.stored);
    expect(await neo.counts()).toEqual(await mem.counts());
    await expectSameSnapshots(mem, { from: null, to: null }, 0, neo);
  });

  test('erasure removes the user, its edges and its events; later snapshots and ingests do not bring it back', async () => {
    const before = await neo.counts();
    const erased = await neo.eraseUser('u1');
    expect(erased).toEqual(await mem.eraseUser('u1'));
    expect(erased.userFound).toBe(true);
    expect(erased.events).toBeGreaterThan(0);
    const after = await neo.counts();
    expect(after.events).toBe(before.events - erased.events);
    expect(after).toEqual(await mem.counts());
    const left = await driver.executeQuery(`MATCH (u:\`${ns}_User\` {id: 'u1'}) RETURN count(u) AS n`);
    expect(left.records[0].get('n').toNumber()).toBe(0);
    const again = await ingestFiles(neo, [JSONL]);
    expect(again.droppedErased).toBe(5);
    await expectSameSnapshots(mem, { from: null, to: null }, 0, neo);
    const snap = buildSnapshot(await neo.snapshotEdges({ from: null, to: null }), { window: { from: null, to: null }, minDegree: 0, source: 'x' });
    expect(snap.entities.some((e) => e.type === 'User' && e.id === 'u1')).toBe(false);
    expect(await neo.eraseUser('nobody-here')).toEqual({ userFound: false, events: 0 });
  });

  test('edge properties have the same types on either path (values as floats, ts as integers)', async () => {
    // A whole-number value too: JSON (the procedure's wire format) would otherwise hand Java an integer.
    const e = { kind: 'offsite' as const, eventId: `whole-${ns}`, ts: Date.UTC(2026, 0, 3), userId: 'u-whole', advertiserId: 'a1', relation: 'CHECKOUT' as const, value: 12, currency: 'USD' };
    expect(await neo.write({ events: [e], pins: [], advertisers: [] })).toEqual({ stored: 1, duplicates: 0 });
    const res = await driver.executeQuery(
      `MATCH (:\`${ns}_User\`)-[r]->() WHERE r.value IS NOT NULL RETURN DISTINCT valueType(r.value) AS v, valueType(r.ts) AS t`,
    );
    expect(res.records.map((r) => [r.get('v'), r.get('t')])).toEqual([['FLOAT NOT NULL', 'INTEGER NOT NULL']]);
    await neo.eraseUser('u-whole');
  });
});

describe('Neo4jStore edge cases', () => {
  test('a batch that repeats an eventId stores it once (direct callers need not dedupe)', async () => {
    const e = { kind: 'onsite' as const, eventId: `rep-${NS}`, ts: Date.UTC(2026, 5, 1), userId: 'u-rep', relation: 'CLICKED' as const, pinId: 'p1' };
    const before = await neo.counts();
    expect(await neo.write({ events: [e, { ...e }], pins: [], advertisers: [] })).toEqual({ stored: 1, duplicates: 1 });
    const after = await neo.counts();
    expect(after.events).toBe(before.events + 1);
    expect(after.interactionEdges.CLICKED).toBe((before.interactionEdges.CLICKED ?? 0) + 1);
    await neo.eraseUser('u-rep');
  });

  test('ADKG_NEO4J_WRITE_PATH accepts auto, procedure and cypher, and names the choices otherwise', () => {
    const saved = process.env.ADKG_NEO4J_WRITE_PATH;
    try {
      process.env.ADKG_NEO4J_WRITE_PATH = 'cypher';
      expect(neo4jSettingsFromEnv().writePath).toBe('cypher');
      process.env.ADKG_NEO4J_WRITE_PATH = 'kernel';
      expect(() => neo4jSettingsFromEnv()).toThrow('ADKG_NEO4J_WRITE_PATH must be one of auto, procedure, cypher, got "kernel"');
      delete process.env.ADKG_NEO4J_WRITE_PATH;
      expect(neo4jSettingsFromEnv().writePath).toBe('auto');
    } finally {
      if (saved === undefined) delete process.env.ADKG_NEO4J_WRITE_PATH;
      else process.env.ADKG_NEO4J_WRITE_PATH = saved;
    }
  });

  test('ingest into an unreachable Neo4j fails at once with a message that names it', async () => {
    const port = await freePort();
    const r = await runCli(['ingest', JSONL, '--store', 'neo4j'], { env: { NEO4J_URI: `bolt://127.0.0.1:${port}` } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach Neo4j at bolt://127.0.0.1:${port}`);
  });
});

describe('adkg cypher (read-only)', () => {
  const env = () => ({ NEO4J_URI: neo4jSettingsFromEnv().uri });
  const L = (l: string) => `\`${NS}_${l}\``;

  async function pinProps(): Promise<Record<string, unknown>> {
    const r = await driver.executeQuery(`MATCH (p:${L('Pin')} {id: 'p1'}) RETURN properties(p) AS props`);
    return r.records[0].get('props');
  }

  test('reads run, with typed parameters, in every format', async () => {
    const events = (await neo.counts()).events;
    const json = await runCli(['cypher', `MATCH (e:${L('Event')}) WHERE e.ts >= $from RETURN count(e) AS n`, '--param', 'from:int=0', '--format', 'json'], { env: env() });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ n: events }]);
    const csv = await runCli(['cypher', `MATCH (p:${L('Pin')} {id: $id}) RETURN p.id AS pin, 'a,b' AS quoted`, '--param', 'id=p1', '--format', 'csv'], { env: env() });
    expect(csv.stdout.trim().split('\n')).toEqual(['pin,quoted', 'p1,"a,b"']);
    const table = await runCli(['cypher', `MATCH (p:${L('Pin')}) RETURN count(p) AS pins`], { env: env() });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/pins\s*\n-+\s*\n\d+\s*\n\(1 row\)/);
  });

  test('a write is refused before it runs, with a clear message and a non-zero exit; nothing changes', async () => {
    const before = await neo.counts();
    const propsBefore = await pinProps();
    const attempts = [
      `MATCH (p:${L('Pin')} {id: $id}) SET p.hacked = true RETURN p`,
      `CREATE (:${L('Pin')} {id: 'injected'})`,
      `MATCH (u:${L('User')}) DETACH DELETE u`,
      `CREATE INDEX ${NS}_probe IF NOT EXISTS FOR (n:${L('Pin')}) ON (n.hacked)`,
    ];
    for (const q of attempts) {
      const r = await runCli(['cypher', q, '--param', 'id=p1'], { env: env() });
      expect({ q, code: r.code }).toEqual({ q, code: 6 });
      expect(r.stderr).toMatch(/refused: this query (writes|reads and writes|changes the schema)/);
      expect(r.stderr).toContain('nothing was changed');
    }
    expect(await neo.counts()).toEqual(before);
    expect(await pinProps()).toEqual(propsBefore);
    const idx = await driver.executeQuery(`SHOW INDEXES YIELD name WHERE name = $n RETURN count(*) AS n`, { n: `${NS}_probe` });
    expect(idx.records[0].get('n').toNumber()).toBe(0);
  });

  test('the READ transaction alone also stops a write (second guard)', async () => {
    const before = await neo.counts();
    await expect(runReadOnlyQuery(driver, `MATCH (p:${L('Pin')} {id: 'p1'}) SET p.hacked = true`, {}, { explainFirst: false })).rejects.toThrow(/read/i);
    expect(await pinProps()).not.toHaveProperty('hacked');
    expect(await neo.counts()).toEqual(before);
  });

  test('LOAD CSV is refused though it only reads: it opens files and URLs, not the graph', async () => {
    await expect(runReadOnlyQuery(driver, `LOAD CSV FROM 'https://example.invalid/x.csv' AS line RETURN line LIMIT 1`, {})).rejects.toThrow(
      'refused: it reads a file or URL with LOAD CSV; adkg cypher reads the graph only; nothing was run',
    );
    const r = await runCli(['cypher', `LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line[0] AS x LIMIT 1`], { env: env() });
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('root');
  });

  test('the shipped query files read a namespaced graph with --namespace; a namespace that holds no graph is named', async () => {
    const ns = `${NS}q`;
    const store = await Neo4jStore.open({ namespace: ns, maxRetryTimeMs: 30000 });
    try {
      await ingestFiles(store, [JSONL], { batchSize: 50 });
      const file = path.join(__dirname, '..', 'cypher', 'pins-by-click-through.cypher');
      const r = await runCli(['cypher', file, '--namespace', ns, '--param', 'minImpressions=0', '--format', 'json'], { env: env() });
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.stdout) as { pin: string; impressions: number; ctr: number | null }[];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((x) => (x.impressions === 0) === (x.ctr === null))).toBe(true); // no division by zero
      expect(r.stderr).toBe('');
      const typo = await runCli(['cypher', file, '--namespace', `${ns}typo`, '--param', 'minImpresions=1', '--format', 'json'], { env: env() });
      expect(typo.code).toBe(0);
      expect(JSON.parse(typo.stdout)).toEqual([]);
      expect(typo.stderr).toContain(`namespace ${ns}typo at`);
      expect(typo.stderr).toContain('holds no adkg graph');
      expect(typo.stderr).toContain('--param minImpresions is not a parameter of this query');
    } finally {
      await store.dropNamespace();
      await store.close();
    }
  });

  test('snapshot and erase refuse a namespace that holds no graph, and write nothing there (not even the schema)', async () => {
    const ns = `${NS}none`;
    await expect(Neo4jStore.open({ namespace: ns }, { readOnly: true })).rejects.toThrow(`namespace ${ns} holds no adkg graph: nothing to read`);
    const erase = await runCli(['erase', '--user', 'u1', '--store', 'neo4j', '--namespace', ns], { env: env() });
    expect(erase.code).toBe(5);
    expect(erase.stderr).toContain(`namespace ${ns} holds no adkg graph: nothing to erase user u1 from`);
    const c = await driver.executeQuery('SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH $p RETURN count(*) AS n', { p: `${ns}_` });
    expect(c.records[0].get('n').toNumber()).toBe(0);
  });

  test('a missing declared parameter is named before anything runs', async () => {
    const r = await runCli(['cypher', path.join(__dirname, '..', 'cypher', 'user-timeline.cypher')], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing --param for userId');
  });
});
