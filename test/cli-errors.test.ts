/**
 * What a user sees when a command is given something wrong: option values that are not numbers, a --db that
 * names no store, Neo4j down for `adkg cypher`, a KGE backend that is not there, embeddings of another graph.
 * Each must fail at once, name what is wrong, and leave nothing behind.
 */
import { promises as fs, existsSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command, InvalidArgumentError } from 'commander';
import { parseFloatOption, parseIntOption, parsePositiveFloatOption } from '../src/cli/options';
import { buildProgram } from '../src/cli/main';
import { resolveBackend } from '../src/cli/backend-choice';
import neo4j from 'neo4j-driver';
import { connectNeo4j, loadQuery, MemoryStore, neo4jSettingsFromEnv, namespaceLabels, resolveParams, runReadOnlyQuery } from '../src/graph';
import { parseDeclarations } from '../src/graph/cypher-runner';
import { QueryParameterError, StoreFileError, StoreNotFoundError, StoreUnavailableError } from '../src/graph/errors';
import { getBackendFactory } from '../src/kge';
import { writeTripleSet } from '../src/common/triple-set';
import { OFFSITE_FEATURES, RankingModel, buildRankingContext, impressionColumns, initDenseBackend, readEmbeddingExport } from '../src/ranking';
import { DAY, START, fixtureGraph, makeWorld, writeFixtureExport, writeWorld } from './ranking-fixtures';

const tmpDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'adkg-cli-errors-'));

describe('option values', () => {
  test('integers: decimal text only — an empty value (an unset $VAR) is not 0, hex and exponents are refused', () => {
    const epochs = parseIntOption('--epochs', 0);
    expect(epochs('12')).toBe(12);
    expect(epochs(' 3 ')).toBe(3);
    expect(epochs('+4')).toBe(4);
    for (const bad of ['', '  ', '0x10', '1e3', '2.5', 'abc', '-1', '99999999999999999999']) {
      expect(() => epochs(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => epochs('')).toThrow('--epochs must be an integer ≥ 0, got ""');
  });

  test('numbers: decimal or scientific; an empty value, hex or words are refused; the range is named', () => {
    const share = parseFloatOption('--opt-in-share', 0, 1);
    expect(share('0.25')).toBe(0.25);
    expect(share('.5')).toBe(0.5);
    expect(share('1e-1')).toBeCloseTo(0.1);
    for (const bad of ['', ' ', '0x1', 'NaN', 'Infinity', '1.5', '-0.1']) expect(() => share(bad)).toThrow(InvalidArgumentError);
    expect(() => share('2')).toThrow('--opt-in-share must be a number in [0, 1], got "2"');
    expect(() => parseFloatOption('--margin', 0)('-1')).toThrow('--margin must be a number ≥ 0, got "-1"');
  });

  test('learning rates must be positive: 0 would train nothing', () => {
    const lr = parsePositiveFloatOption('--lr');
    expect(lr('0.05')).toBe(0.05);
    expect(() => lr('0')).toThrow('--lr must be a number > 0, got "0"');
    expect(() => lr('')).toThrow(InvalidArgumentError);
  });
});

describe('the memory store named by --db', () => {
  test('a read of a file that does not exist is refused (not read as an empty graph), and nothing is created', async () => {
    const dir = await tmpDir();
    const db = path.join(dir, 'typo', 'graph.jsonl');
    const e = await MemoryStore.open({ dbPath: db, readOnly: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StoreNotFoundError);
    expect((e as StoreNotFoundError).exitCode).toBe(5);
    expect((e as Error).message).toContain(db);
    expect(existsSync(path.join(dir, 'typo'))).toBe(false);
  });

  test('erase into a missing file is refused: the erasure must not land in a new store while the real one keeps the user', async () => {
    const dir = await tmpDir();
    const db = path.join(dir, 'nope', 'graph.jsonl');
    await expect(buildProgram().parseAsync(['node', 'adkg', 'erase', '--user', 'u1', '--db', db])).rejects.toThrow(/no memory store at .*nope.*erase user u1/);
    expect(existsSync(path.join(dir, 'nope'))).toBe(false);
  });

  test('a folder given as --db is named as such', async () => {
    const dir = await tmpDir();
    const e = await MemoryStore.open({ dbPath: dir, readOnly: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StoreFileError);
    expect((e as Error).message).toBe(`${dir}: is a folder; --db names the store file (e.g. .adkg/graph.jsonl)`);
  });

  test('a writer still starts a new store where there is none', async () => {
    const dir = await tmpDir();
    const store = await MemoryStore.open({ dbPath: path.join(dir, 'new.jsonl') });
    expect((await store.counts()).events).toBe(0);
    await store.close();
  });
});

test('Neo4j down: connecting fails within seconds with exit code 3 and how to start it', async () => {
  const t0 = Date.now();
  const e = await connectNeo4j(neo4jSettingsFromEnv({ uri: 'bolt://127.0.0.1:1' })).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(StoreUnavailableError);
  expect((e as StoreUnavailableError).exitCode).toBe(3);
  expect((e as Error).message).toMatch(/^cannot reach Neo4j at bolt:\/\/127\.0\.0\.1:1: .*npm run services:up/);
  expect(Date.now() - t0).toBeLessThan(15_000);
});

describe('--backend of train and pipeline', () => {
  test('auto takes cuda where it runs, else native where it is built, else js', () => {
    const ok = (n: 'cuda' | 'native') => getBackendFactory(n).available().ok;
    const expected = ok('cuda') ? 'cuda' : ok('native') ? 'native' : 'js';
    expect(resolveBackend('auto', () => undefined)).toBe(expected);
  });

  test('a backend asked for by name that cannot run is refused before anything runs', async () => {
    const missing = (['cuda', 'native'] as const).find((n) => !getBackendFactory(n).available().ok);
    if (!missing) {
      // Everything runs here (a GPU machine with both addons): then the named backend is taken as it is.
      expect(resolveBackend('cuda', () => undefined)).toBe('cuda');
      return;
    }
    const out = path.join(await tmpDir(), 'pipe');
    await expect(buildProgram().parseAsync(['node', 'adkg', 'pipeline', '--backend', missing, '--out', out, '--users', '20'])).rejects.toThrow(`--backend ${missing}: `);
    expect(existsSync(path.join(out, 'sim'))).toBe(false);
  });
});

describe('adkg rank options and output', () => {
  test('--history 0 and --pretrained-lr 0 are refused when parsed, before any variant trains', async () => {
    const dir = await tmpDir();
    // Commander reports a bad option value and exits; here it throws instead, and says nothing on stderr.
    const throwing = (c: Command): Command => (c.exitOverride().configureOutput({ writeErr: () => undefined }), c.commands.forEach(throwing), c);
    const run = (...extra: string[]) => throwing(buildProgram()).parseAsync(['node', 'adkg', 'rank', 'ablation', '--data', dir, ...extra]);
    await expect(run('--history', '0')).rejects.toThrow('--history must be an integer ≥ 1, got "0"');
    await expect(run('--pretrained-lr', '0')).rejects.toThrow('--pretrained-lr must be a number > 0, got "0"');
  });

  test('rank train prints its result on stdout (stderr with --json, whose line stays last on stdout)', async () => {
    const w = makeWorld({ users: 30, pins: 20, days: 3 });
    const dir = await tmpDir();
    await writeWorld(dir, w);
    const runTrain = async (...extra: string[]) => {
      const out: string[] = [], err: string[] = [];
      const so = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
      const se = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
      try {
        await buildProgram().parseAsync(['node', 'adkg', 'rank', 'train', '--variant', 'ids', '--data', dir, '--eval-days', '1', '--epochs', '1', '--backend', 'cpu', '--out', path.join(dir, `m${extra.length}`), '--quiet', ...extra]);
      } finally {
        so.mockRestore();
        se.mockRestore();
      }
      return { out: out.join(''), err: err.join('') };
    };
    const plain = await runTrain();
    expect(plain.out).toMatch(/^rank ids: CTR AUC \d\.\d{4} logloss \d\.\d{4}; CVR AUC/m);
    const json = await runTrain('--json');
    expect(json.err).toMatch(/rank ids: CTR AUC/);
    const lines = json.out.trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1]).variant).toBe('ids');
  }, 120_000);

  test('--triples without offsite edges, or not the snapshot the embeddings came from, is warned about; model.json says what the inputs were', async () => {
    const w = makeWorld({ users: 30, pins: 20, days: 3 });
    const dir = await tmpDir();
    await writeWorld(dir, w);
    const emb = path.join(dir, 'emb'), empty = path.join(dir, 'empty'), graph = path.join(dir, 'graph');
    await writeFixtureExport(emb, w, { windowTo: new Date(START + 2 * DAY).toISOString() });
    const manifest = JSON.parse(await fs.readFile(path.join(emb, 'manifest.json'), 'utf8'));
    await fs.writeFile(path.join(emb, 'manifest.json'), JSON.stringify({ ...manifest, data: { source: 'test-fixture', path: graph } }));
    await writeTripleSet(empty, fixtureGraph(w, START));
    await writeTripleSet(graph, fixtureGraph(w, START + 2 * DAY));
    const stderrOf = async (triples: string) => {
      const err: string[] = [];
      const so = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const se = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
      try {
        await buildProgram().parseAsync(['node', 'adkg', 'rank', 'train', '--variant', 'ids', '--data', dir, '--embeddings', emb, '--triples', triples,
          '--eval-days', '1', '--epochs', '1', '--backend', 'cpu', '--quiet', '--out', path.join(dir, `m-${path.basename(triples)}`)]);
      } finally {
        so.mockRestore();
        se.mockRestore();
      }
      return err.join('');
    };
    const onEmpty = await stderrOf(empty);
    expect(onEmpty).toContain(`rank: warning: ${empty} has no offsite edge of the data's users`);
    expect(onEmpty).toContain(`rank: warning: --triples ${empty} is not the snapshot the embeddings were trained on (${graph})`);
    const onGraph = await stderrOf(graph);
    expect(onGraph).not.toContain('warning');
    // Enough to prepare new impressions as training did: absolute paths, the offsite features' standardisation, id hashing.
    const model = JSON.parse(await fs.readFile(path.join(dir, 'm-graph', 'model.json'), 'utf8'));
    expect(model.embeddings.dir).toBe(path.resolve(emb));
    expect(model.offsite.triples).toBe(path.resolve(graph));
    expect(model.offsite.window.to).toBe(new Date(START + 2 * DAY).toISOString());
    expect(model.offsite.tokens).toBe(16);
    expect(model.offsite.features.mean).toHaveLength(OFFSITE_FEATURES);
    expect(model.offsite.features.scale.every((x: number) => Number.isFinite(x) && x > 0)).toBe(true);
    expect(model.idRows.user).toMatchObject({ mode: 'exact', hashSeed: 0x5eed });
    expect(model.idRows.user.rows).toBe((await fs.readFile(path.join(dir, 'm-graph', 'ids_user.tsv'), 'utf8')).trim().split('\n').length);
  }, 120_000);
});

test('ranking with embeddings of another graph (no user, pin or advertiser known) is refused', async () => {
  await initDenseBackend();
  const w = makeWorld({ users: 40, pins: 30, days: 4 });
  const dir = await tmpDir();
  await writeFixtureExport(dir, w, { windowTo: new Date(START + 3 * DAY).toISOString() });
  // The same export with every entity renamed: a graph that shares no id with this data.
  const ids = path.join(dir, 'entity_ids.tsv');
  await fs.writeFile(ids, (await fs.readFile(ids, 'utf8')).replace(/^/gm, 'other-').replace(/other-$/, ''));
  const ctx = buildRankingContext(impressionColumns(w.records), await readEmbeddingExport(dir), { evalDays: 1 });
  expect(() => new RankingModel('kge-frozen', ctx, null)).toThrow(/cover none of the data's \d+ users, \d+ pins and \d+ advertisers/);
});

describe('adkg cypher parameters and namespaces', () => {
  const declared = parseDeclarations('// @param from int 0 - start\n// @param to int 9 - end\nRETURN 1', 'q.cypher');

  test('a --param the file does not declare is warned about (a typo would leave the real one at its default)', () => {
    const warnings: string[] = [];
    const params = resolveParams(declared, ['From=5'], (m) => warnings.push(m));
    expect(warnings).toEqual(['--param From is not a parameter of this query (it declares from, to); did you mean from?']);
    expect(Number(params.from)).toBe(0);
    // Inline queries declare nothing: any name goes, without a warning.
    const quiet: string[] = [];
    resolveParams([], ['x=1'], (m) => quiet.push(m));
    expect(quiet).toEqual([]);
  });

  test('an int parameter beyond 64 bits is refused, not wrapped around', () => {
    expect(() => resolveParams(declared, ['from=99999999999999999999'])).toThrow(QueryParameterError);
    expect(() => resolveParams(declared, ['from=99999999999999999999'])).toThrow("parameter from must be a 64-bit integer (Cypher's INTEGER)");
    expect(String(resolveParams(declared, ['from=9223372036854775807']).from)).toBe('9223372036854775807');
    expect(String(resolveParams(declared, ['from=-9223372036854775808']).from)).toBe('-9223372036854775808');
  });

  test('a time parameter takes ISO-8601 with a zone, a date (UTC midnight) or epoch ms, and names what it wants', () => {
    const t = parseDeclarations('// @param at time 0\nRETURN $at', 'q.cypher');
    const at = (v: string) => String(resolveParams(t, [`at=${v}`]).at);
    expect(at('2026-01-02')).toBe(String(Date.UTC(2026, 0, 2)));
    expect(at('2026-01-02T12:00:00+02:00')).toBe(String(Date.UTC(2026, 0, 2, 10)));
    expect(at('1767312000000')).toBe('1767312000000');
    expect(() => at('yesterday')).toThrow('parameter at must be a time: ISO-8601 with a zone');
    expect(() => at('2026-01-02T12:00:00')).toThrow(QueryParameterError); // no zone: ambiguous
  });

  test('a mistyped query path is named as a missing file, not sent to Neo4j as Cypher', async () => {
    await expect(loadQuery('cyq/nope')).rejects.toThrow('cannot read query file cyq/nope: ENOENT');
    await expect(loadQuery('./nope')).rejects.toThrow(QueryParameterError);
    expect((await loadQuery('MATCH (n) RETURN count(n)')).file).toBeNull();
  });

  test('EXPLAIN or PROFILE in the query is refused before anything is sent: the runner explains every query itself', async () => {
    const driver = neo4j.driver('bolt://127.0.0.1:1'); // never reached: the refusal comes first
    try {
      for (const q of ['EXPLAIN MATCH (n) RETURN n', '  profile MATCH (n) RETURN n', '// a comment\nPROFILE RETURN 1']) {
        await expect(runReadOnlyQuery(driver, q, {})).rejects.toThrow(/^leave out (EXPLAIN|PROFILE): adkg cypher runs the query itself/);
      }
    } finally {
      await driver.close();
    }
  });

  test("a namespace's labels replace the plain ones in a query; other names stay", () => {
    expect(namespaceLabels('MATCH (u:User)-[:CLICKED]->(p:Pin)-[:PROMOTED_BY]->(a:Advertiser) RETURN p', 'ns1')).toBe(
      'MATCH (u:`ns1_User`)-[:CLICKED]->(p:`ns1_Pin`)-[:PROMOTED_BY]->(a:`ns1_Advertiser`) RETURN p',
    );
    expect(namespaceLabels('MATCH (u:Username) RETURN u', 'ns1')).toBe('MATCH (u:Username) RETURN u');
    expect(namespaceLabels('MATCH (u:User) RETURN u', '')).toBe('MATCH (u:User) RETURN u');
  });
});
