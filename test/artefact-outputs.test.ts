/**
 * Artefact folders. Every writer (simulate, train's export, snapshot, dataset import, rank's model and results) refuses, before it writes anything, an
 * --out that holds another artefact (a manifest.json of another format) or, for train, the --triples folder itself;
 * rewriting an artefact of its own format in place keeps working. readTripleSet refuses a TripleSet whose manifest
 * counts a split that is missing, unreadable or short, and names a missing entities.json / relations.json; a
 * TripleSet without valid/test splits (a snapshot) is still read, and train still re-splits it.
 */
import { createHash } from 'crypto';
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../src/cli/main';
import { EMBEDDING_FORMAT } from '../src/common/embedding-export';
import { assertOutputFolder, OutputFolderError } from '../src/common/output-folder';
import { readTripleSet, TRIPLESET_FORMAT, TripleSetFileError } from '../src/common/triple-set';
import { ADS_EVENTS_FORMAT, importAdsDataset, importKgDataset } from '../src/datasets';
import { ingestFiles, MemoryStore } from '../src/graph';
import { simulate } from '../src/sim';
import { clearStaleModels } from '../src/ranking';

const KG = '/work/shared/datasets/kg';
const ADS = '/work/shared/datasets/ads';
let root: string;
let nations: string; // the nations TripleSet: 1592 / 199 / 201 triples
let world: string; // a simulation (manifest format "adkg.simulation")
let db: string; // the world ingested into a memory store

/** Runs `adkg ...` in process with stdout and stderr captured; returns stdout. */
async function cli(args: string[]): Promise<string> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => ((out += s), true);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = () => true;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'adkg', ...args]);
  } finally {
    (process.stdout as unknown as { write: typeof write }).write = write;
    (process.stderr as unknown as { write: typeof errWrite }).write = errWrite;
  }
  return out;
}

const TRAIN = ['--model', 'transe', '--epochs', '1', '--dim', '8', '--backend', 'js', '--no-progress', '--json'];

/** Every file under dir (recursively) with the hash of its bytes: "nothing was written" is this map unchanged. */
async function contents(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    result[path.relative(dir, p)] = createHash('sha256').update(await fs.readFile(p)).digest('hex');
  }
  return result;
}

async function copy(src: string, name: string): Promise<string> {
  const dst = path.join(root, name);
  await fs.cp(src, dst, { recursive: true });
  return dst;
}

async function formatOf(dir: string): Promise<string> {
  return (JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as { format: string }).format;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'adkg-artefacts-'));
  nations = path.join(root, 'nations');
  await importKgDataset('nations', path.join(KG, 'nations.tar.gz'), nations);
  world = path.join(root, 'world');
  await simulate({ users: 40, pins: 12, advertisers: 4, categories: 4, days: 3, seed: 5 }, world);
  db = path.join(root, 'graph.jsonl');
  const store = await MemoryStore.open({ dbPath: db });
  try {
    await ingestFiles(store, [path.join(world, 'events.jsonl')]);
  } finally {
    await store.close();
  }
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('assertOutputFolder', () => {
  test('passes a new folder, a folder without manifest.json, and a folder holding the same format', async () => {
    await expect(assertOutputFolder(path.join(root, 'does-not-exist'), TRIPLESET_FORMAT)).resolves.toBeUndefined();
    const empty = path.join(root, 'empty');
    await fs.mkdir(empty);
    await fs.writeFile(path.join(empty, 'notes.txt'), 'x');
    await expect(assertOutputFolder(empty, EMBEDDING_FORMAT)).resolves.toBeUndefined();
    await expect(assertOutputFolder(nations, TRIPLESET_FORMAT)).resolves.toBeUndefined();
    await expect(assertOutputFolder(world, 'adkg.simulation')).resolves.toBeUndefined();
    expect(existsSync(path.join(root, 'does-not-exist'))).toBe(false);
  });

  test('refuses another format, naming the folder, the format found, the one to write and --out; exit 1', async () => {
    const e = await assertOutputFolder(world, TRIPLESET_FORMAT).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OutputFolderError);
    expect((e as OutputFolderError).exitCode).toBe(1);
    expect((e as Error).message).toBe(
      `--out ${world} already holds an adkg.simulation (its manifest.json); writing an adkg.tripleset there would replace it. ` +
        'Nothing was written: pass another --out (a new folder, or one holding an adkg.tripleset)',
    );
    await expect(assertOutputFolder(nations, EMBEDDING_FORMAT)).rejects.toThrow(`--out ${nations} already holds an adkg.tripleset (its manifest.json); writing an adkg.embeddings there`);
    await expect(assertOutputFolder(nations, ADS_EVENTS_FORMAT, { option: '--dir' })).rejects.toThrow(`--dir ${nations} already holds an adkg.tripleset`);
  });

  test('refuses a manifest.json that is not JSON or names no format, and a file given as the folder', async () => {
    const broken = path.join(root, 'broken');
    await fs.mkdir(broken);
    await fs.writeFile(path.join(broken, 'manifest.json'), '{"format": "adkg.trip');
    await expect(assertOutputFolder(broken, TRIPLESET_FORMAT)).rejects.toThrow(`--out ${broken} already holds a manifest.json that is not JSON;`);
    await fs.writeFile(path.join(broken, 'manifest.json'), '{"model": "transe"}');
    await expect(assertOutputFolder(broken, TRIPLESET_FORMAT)).rejects.toThrow(`--out ${broken} already holds a manifest.json without a format;`);
    const file = path.join(root, 'a-file');
    await fs.writeFile(file, 'x');
    await expect(assertOutputFolder(file, TRIPLESET_FORMAT)).rejects.toThrow(`--out ${file} is a file, not a folder`);
  });

  test('refuses an output folder that is an input folder, also through a symlink', async () => {
    const link = path.join(root, 'nations-link');
    await fs.symlink(nations, link);
    const real = await fs.realpath(nations);
    for (const out of [nations, link, `${nations}/`]) {
      const e = await assertOutputFolder(out, TRIPLESET_FORMAT, { inputs: [{ option: '--triples', dir: nations }] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OutputFolderError);
      expect((e as Error).message).toBe(`--out ${out} is the --triples folder (${real}): writing an adkg.tripleset there would overwrite what it reads. Nothing was written: pass another --out`);
    }
  });
});

describe('adkg train --out', () => {
  test('--out equal to --triples is refused before anything is written; the TripleSet stays whole and trains', async () => {
    const same = await copy(nations, 'same');
    const before = await contents(same);
    await expect(cli(['train', '--triples', same, ...TRAIN, '--out', same])).rejects.toThrow(`--out ${same} is the --triples folder`);
    expect(await contents(same)).toEqual(before); // no manifest replaced, no checkpoint/
    const link = path.join(root, 'same-link');
    await fs.symlink(same, link);
    await expect(cli(['train', '--triples', same, ...TRAIN, '--out', link])).rejects.toThrow(OutputFolderError);
    expect(await contents(same)).toEqual(before);
    // The next train works: the TripleSet is still there.
    const result = JSON.parse((await cli(['train', '--triples', same, ...TRAIN, '--out', path.join(root, 'same-emb')])).trim().split('\n').pop()!) as { test: { count: number } };
    expect(result.test.count).toBe(2 * 201);
  });

  test('an --out holding another TripleSet or a simulation is refused; its own export is rewritten in place', async () => {
    const other = await copy(nations, 'other-triples');
    const before = await contents(other);
    await expect(cli(['train', '--triples', nations, ...TRAIN, '--out', other])).rejects.toThrow(`--out ${other} already holds an adkg.tripleset (its manifest.json); writing an adkg.embeddings there would replace it`);
    expect(await contents(other)).toEqual(before);
    const worldBefore = await contents(world);
    await expect(cli(['train', '--triples', nations, ...TRAIN, '--out', world])).rejects.toThrow(`--out ${world} already holds an adkg.simulation`);
    expect(await contents(world)).toEqual(worldBefore);
    const emb = path.join(root, 'emb');
    await cli(['train', '--triples', nations, ...TRAIN, '--out', emb]);
    const first = JSON.parse(await fs.readFile(path.join(emb, 'manifest.json'), 'utf8')) as { created: string };
    await cli(['train', '--triples', nations, ...TRAIN, '--seed', '2', '--out', emb]);
    const second = JSON.parse(await fs.readFile(path.join(emb, 'manifest.json'), 'utf8')) as { format: string; created: string };
    expect(second.format).toBe(EMBEDDING_FORMAT);
    expect(second.created >= first.created).toBe(true);
    await expect(readTripleSet(nations)).resolves.toBeDefined();
  });
});

describe('adkg snapshot --out', () => {
  test('a simulation folder is refused and left as it was; a snapshot folder is rewritten in place', async () => {
    const before = await contents(world);
    await expect(cli(['snapshot', '--store', 'memory', '--db', db, '--out', world])).rejects.toThrow(
      `--out ${world} already holds an adkg.simulation (its manifest.json); writing an adkg.tripleset there would replace it`,
    );
    expect(await contents(world)).toEqual(before);
    const snap = path.join(root, 'snap');
    await cli(['snapshot', '--store', 'memory', '--db', db, '--out', snap]);
    const first = await contents(snap);
    await cli(['snapshot', '--store', 'memory', '--db', db, '--out', snap]); // a re-run into its own folder
    expect(await formatOf(snap)).toBe(TRIPLESET_FORMAT);
    const second = await contents(snap);
    expect({ ...second, 'manifest.json': '' }).toEqual({ ...first, 'manifest.json': '' }); // same triples; only `created` differs
  });

  test('an embeddings folder is refused too', async () => {
    const emb = path.join(root, 'snap-emb');
    await cli(['train', '--triples', nations, ...TRAIN, '--out', emb]);
    const before = await contents(emb);
    await expect(cli(['snapshot', '--store', 'memory', '--db', db, '--out', emb])).rejects.toThrow(`--out ${emb} already holds an adkg.embeddings`);
    expect(await contents(emb)).toEqual(before);
  });
});

describe('adkg simulate --out', () => {
  test('a TripleSet folder is refused and left as it was; its own folder is simulated into again', async () => {
    const triples = await copy(nations, 'nations-for-sim');
    const before = await contents(triples);
    await expect(simulate({ users: 20, pins: 6, advertisers: 2, categories: 2, days: 2, seed: 1 }, triples)).rejects.toThrow(
      `--out ${triples} already holds an adkg.tripleset (its manifest.json); writing an adkg.simulation there would replace it`,
    );
    expect(await contents(triples)).toEqual(before);
    const again = await copy(world, 'world-again');
    await simulate({ users: 40, pins: 12, advertisers: 4, categories: 4, days: 3, seed: 5 }, again);
    expect(await contents(again)).toEqual(await contents(world)); // same seed, same bytes
  });
});

describe('adkg dataset import --out', () => {
  test('a KG import into a simulation folder is refused and leaves it as it was; into a TripleSet it rewrites it', async () => {
    const before = await contents(world);
    await expect(cli(['dataset', 'import', 'nations', path.join(KG, 'nations.tar.gz'), '--out', world])).rejects.toThrow(
      `--out ${world} already holds an adkg.simulation (its manifest.json); writing an adkg.tripleset there would replace it`,
    );
    expect(await contents(world)).toEqual(before);
    const again = await copy(nations, 'nations-again');
    await cli(['dataset', 'import', 'nations', path.join(KG, 'nations.tar.gz'), '--out', again]);
    expect((await readTripleSet(again)).manifest.counts).toEqual({ train: 1592, valid: 199, test: 201 });
  });

  test('an ad-log import into a TripleSet is refused; into its own folder it runs again', async () => {
    const triples = await copy(nations, 'nations-for-ads');
    const before = await contents(triples);
    await expect(importAdsDataset('ali-ccp', path.join(ADS, 'ali-ccp'), triples)).rejects.toThrow(
      `--out ${triples} already holds an adkg.tripleset (its manifest.json); writing an adkg.dataset-events there would replace it`,
    );
    expect(await contents(triples)).toEqual(before);
    const ads = path.join(root, 'ads');
    await importAdsDataset('ali-ccp', path.join(ADS, 'ali-ccp'), ads);
    await importAdsDataset('ali-ccp', path.join(ADS, 'ali-ccp'), ads);
    expect(await formatOf(ads)).toBe(ADS_EVENTS_FORMAT);
  });
});

describe('readTripleSet: the splits and files a TripleSet must have', () => {
  test('a valid.bin the manifest counts but that is missing is an error naming it (exit 2); train does not re-split', async () => {
    const dir = await copy(nations, 'no-valid');
    await fs.rm(path.join(dir, 'valid.bin'));
    const e = await readTripleSet(dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TripleSetFileError);
    expect((e as TripleSetFileError).exitCode).toBe(2);
    expect((e as Error).message).toBe(`the TripleSet at ${dir} is incomplete: valid.bin is missing (manifest.json counts 199 valid triples)`);
    const out = path.join(root, 'no-valid-emb');
    await expect(cli(['train', '--triples', dir, ...TRAIN, '--out', out])).rejects.toThrow('valid.bin is missing');
    expect(existsSync(out)).toBe(false);
  });

  test('a test.bin with fewer triples than the manifest counts is refused', async () => {
    const dir = await copy(nations, 'short-test');
    const buf = await fs.readFile(path.join(dir, 'test.bin'));
    await fs.writeFile(path.join(dir, 'test.bin'), buf.subarray(0, 100 * 12));
    await expect(readTripleSet(dir)).rejects.toThrow(`the TripleSet at ${dir} does not match its manifest: test.bin holds 100 triples, manifest.json counts 201`);
  });

  test('every malformed file is bad input (exit 2) naming the TripleSet: a torn .bin, triples out of range, lists the manifest does not count, no manifest', async () => {
    const torn = await copy(nations, 'torn-train');
    const train = await fs.readFile(path.join(torn, 'train.bin'));
    await fs.writeFile(path.join(torn, 'train.bin'), train.subarray(0, train.length - 5));
    const bad = async (dir: string, text: string) => {
      const e = await readTripleSet(dir).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TripleSetFileError);
      expect((e as TripleSetFileError).exitCode).toBe(2);
      expect((e as Error).message).toContain(text);
    };
    await bad(torn, `the TripleSet at ${torn}: `);
    const range = await copy(nations, 'out-of-range');
    const heads = new Int32Array(train.buffer.slice(train.byteOffset, train.byteOffset + train.length));
    heads[0] = 999_999;
    await fs.writeFile(path.join(range, 'train.bin'), Buffer.from(heads.buffer));
    await bad(range, 'is out of range');
    const fewer = await copy(nations, 'fewer-entities');
    const entities = JSON.parse(await fs.readFile(path.join(fewer, 'entities.json'), 'utf8')) as unknown[];
    await fs.writeFile(path.join(fewer, 'entities.json'), JSON.stringify(entities.slice(1)));
    await bad(fewer, `entities.json holds ${entities.length - 1}, manifest.json counts ${entities.length}`);
    await bad(root, `${root} is not a TripleSet directory`);
  });

  test('a split file that cannot be read for another reason than absence is not skipped', async () => {
    const dir = await copy(nations, 'unreadable-valid');
    await fs.rm(path.join(dir, 'valid.bin'));
    await fs.mkdir(path.join(dir, 'valid.bin')); // EISDIR (EACCES is not testable as root)
    await expect(readTripleSet(dir)).rejects.toThrow(`the TripleSet at ${dir}: valid.bin cannot be read (EISDIR`);
  });

  test('a missing entities.json or relations.json says the TripleSet is incomplete and names the file', async () => {
    for (const name of ['entities.json', 'relations.json']) {
      const dir = await copy(nations, `no-${name}`);
      await fs.rm(path.join(dir, name));
      const e = await readTripleSet(dir).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TripleSetFileError);
      expect((e as Error).message).toBe(`the TripleSet at ${dir} is incomplete: ${name} is missing (every TripleSet has one)`);
    }
  });

  test('a TripleSet without valid/test splits (a snapshot) is read, and train re-splits it and says so', async () => {
    const snap = path.join(root, 'snap-split');
    await cli(['snapshot', '--store', 'memory', '--db', db, '--out', snap]);
    const ts = await readTripleSet(snap);
    expect(Object.keys(ts.manifest.counts)).toEqual(['train']);
    expect(ts.splits.valid).toBeUndefined();
    expect(ts.splits.test).toBeUndefined();
    const result = JSON.parse((await cli(['train', '--triples', snap, ...TRAIN, '--out', path.join(root, 'snap-split-emb')])).trim().split('\n').pop()!) as { split?: string };
    expect(result.split).toMatch(/^no valid\/test splits in .*snap-split: split train deterministically \(seed 1\)/);
  });
});

describe('adkg rank --out', () => {
  test('a folder holding another artefact, or an input folder, is refused before anything is read or trained', async () => {
    const emb = path.join(root, 'rank-emb');
    await cli(['train', '--triples', nations, ...TRAIN, '--out', emb]);
    const before = await contents(emb);
    await expect(cli(['rank', 'train', '--variant', 'ids', '--data', world, '--out', emb])).rejects.toThrow(
      `--out ${emb} already holds an adkg.embeddings (its manifest.json); writing an adkg.ranking-model there would replace it`,
    );
    expect(await contents(emb)).toEqual(before);
    const worldBefore = await contents(world);
    await expect(cli(['rank', 'ablation', '--data', world, '--out', world])).rejects.toThrow(`--out ${world} is the --data folder`);
    expect(await contents(world)).toEqual(worldBefore);
  });
});

describe('a ranking model rewritten in its folder', () => {
  const model = (dir: string) => fs.mkdir(dir, { recursive: true }).then(() => fs.writeFile(path.join(dir, 'model.json'), JSON.stringify({ format: 'adkg.ranking-model' })));

  test('an ensemble drops the single model and the members beyond its size; a single model drops every member', async () => {
    const dir = path.join(root, 'rank-stale');
    await model(dir);
    await fs.mkdir(path.join(dir, 'tables'));
    await fs.writeFile(path.join(dir, 'ids_user.tsv'), 'u0\t0\n');
    await fs.writeFile(path.join(dir, 'result.json'), '{}');
    for (const k of [0, 1, 2]) await model(path.join(dir, `member-${k}`));
    await fs.mkdir(path.join(dir, 'member-7')); // not a ranking model's folder: left alone
    await clearStaleModels(dir, 2);
    expect((await fs.readdir(dir)).sort()).toEqual(['member-0', 'member-1', 'member-7', 'result.json']);
    await model(dir);
    await clearStaleModels(dir, 1);
    expect((await fs.readdir(dir)).sort()).toEqual(['member-7', 'model.json', 'result.json']);
  });
});
