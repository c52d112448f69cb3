import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import { readTripleSet } from '../src/common/triple-set';
import { DatasetFormatError, DatasetSourceError, PUBLISHED_KG_SIZES, importKgDataset, loadKgDataset } from '../src/datasets';
import { buildProgram } from '../src/cli/main';

const KG = '/work/shared/datasets/kg';
const tmp = path.join(os.tmpdir(), `adkg-datasets-kg-${process.pid}`);

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function fixture(dir: string, files: Record<string, string>): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(dir, name), text);
  return dir;
}

describe('shared KG benchmarks give their published split sizes', () => {
  test.each([
    ['fb15k-237', 'FB15k-237.tar.gz'],
    ['nations', 'nations.tar.gz'],
    ['umls', 'umls.tar.gz'],
    ['kinship', 'kinship.tar.gz'],
  ] as const)('%s', async (name, archive) => {
    const out = path.join(tmp, name);
    const { tripleSet, mismatches } = await importKgDataset(name, path.join(KG, archive), out);
    const want = PUBLISHED_KG_SIZES[name];
    expect(mismatches).toEqual([]);
    const back = await readTripleSet(out);
    expect(back.manifest.counts).toEqual({ train: want.train, valid: want.valid, test: want.test });
    expect(back.manifest.entities).toBe(want.entities);
    expect(back.manifest.relations).toBe(want.relations);
    expect(back.manifest.source).toBe(`dataset:${name}`);
    expect(back.manifest.entityTypes).toEqual({ Entity: want.entities });
    expect(back.manifest.window).toEqual({ from: null, to: null });
    expect(back.entities.length).toBe(tripleSet.entities.length);
    // No id keeps a stray \r from the CRLF files.
    expect(back.entities.filter((e) => /\s/.test(e.id))).toEqual([]);
    expect(back.relations.filter((r) => /\s/.test(r))).toEqual([]);
  });

  test('FB15k-237 published numbers are the literal ones of the issue', () => {
    expect(PUBLISHED_KG_SIZES['fb15k-237']).toEqual({ train: 272115, valid: 17535, test: 20466, entities: 14541, relations: 237 });
  });
});

describe('index order and layouts', () => {
  test('ids follow first appearance in train, then valid, then test (head before tail); triples decode back to the text', async () => {
    const dir = path.join(tmp, 'nations-folder');
    await fs.mkdir(dir, { recursive: true });
    await tar.x({ file: path.join(KG, 'nations.tar.gz'), cwd: dir });
    const { tripleSet } = await loadKgDataset('tsv', dir);
    const raw = (f: string) => readFileSync(path.join(dir, f), 'utf8').trim().split('\n').map((l) => l.trim().split('\t'));
    const order: string[] = [], rels: string[] = [];
    for (const f of ['train.txt', 'valid.txt', 'test.txt']) {
      for (const [h, r, t] of raw(f)) {
        for (const e of [h, t]) if (!order.includes(e)) order.push(e);
        if (!rels.includes(r)) rels.push(r);
      }
    }
    expect(tripleSet.entities.map((e) => e.id)).toEqual(order);
    expect(tripleSet.relations).toEqual(rels);
    const test = raw('test.txt');
    const s = tripleSet.splits.test!;
    for (let i = 0; i < test.length; i++) {
      expect([tripleSet.entities[s.heads[i]].id, tripleSet.relations[s.relations[i]], tripleSet.entities[s.tails[i]].id]).toEqual(test[i]);
    }
    expect(tripleSet.manifest.source).toBe('dataset:tsv');
  });

  test('CRLF, blank lines, stray spaces and tabs, a BOM and space-separated lines are handled', async () => {
    const dir = await fixture(path.join(tmp, 'crlf'), {
      'train.txt': '\uFEFFalice\tknows\tbob\r\n  bob \t knows\tcarol  \r\n\r\n\t\r\ncarol likes alice\r\n',
      'valid.txt': 'alice\tlikes\tcarol\r\n',
      'test.txt': 'dave\tknows\talice', // no final newline; an entity first seen in test
    });
    const { tripleSet } = await loadKgDataset('tsv', dir);
    expect(tripleSet.entities.map((e) => e.id)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(tripleSet.relations).toEqual(['knows', 'likes']);
    expect(tripleSet.manifest.counts).toEqual({ train: 3, valid: 1, test: 1 });
    expect(Array.from(tripleSet.splits.train!.heads)).toEqual([0, 1, 2]);
    expect(Array.from(tripleSet.splits.train!.tails)).toEqual([1, 2, 0]);
  });

  test('an archive with a top folder works, and errors name the file inside it', async () => {
    const src = await fixture(path.join(tmp, 'arch-src', 'mykg'), { 'train.txt': 'a\tr\tb\n', 'valid.txt': 'a\tr\tb\n', 'test.txt': 'b\tr\ta\n' });
    const archive = path.join(tmp, 'mykg.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: path.dirname(src) }, ['mykg']);
    const { tripleSet } = await loadKgDataset('tsv', archive);
    expect(tripleSet.manifest.counts).toEqual({ train: 1, valid: 1, test: 1 });
    await fs.writeFile(path.join(src, 'valid.txt'), 'a\tr\tb\na\tr\n');
    await tar.c({ gzip: true, file: archive, cwd: path.dirname(src) }, ['mykg']);
    await expect(loadKgDataset('tsv', archive)).rejects.toThrow(`${archive}:mykg/valid.txt:2: expected 3 tab-separated fields`);
  });
});

describe('errors name file and line', () => {
  test('a line with the wrong number of fields', async () => {
    const dir = await fixture(path.join(tmp, 'bad-fields'), {
      'train.txt': 'a\tr\tb\nb\tr\tc\nc\tr\tc\textra\n',
      'valid.txt': 'a\tr\tb\n',
      'test.txt': 'a\tr\tb\n',
    });
    const err = await loadKgDataset('tsv', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect((err as DatasetFormatError).message).toBe(`${path.join(dir, 'train.txt')}:3: expected 3 tab-separated fields (head, relation, tail), found 4: "c\\tr\\tc\\textra"`);
    expect((err as DatasetFormatError).line).toBe(3);
  });

  test('an empty field', async () => {
    const dir = await fixture(path.join(tmp, 'bad-empty'), { 'train.txt': 'a\tr\tb\n', 'valid.txt': 'a\tr\tb\n', 'test.txt': 'a\tr\tb\r\na\t \tb\r\n' });
    await expect(loadKgDataset('tsv', dir)).rejects.toThrow(`${path.join(dir, 'test.txt')}:2: relation is empty`);
  });

  test('a missing split file or path', async () => {
    const dir = await fixture(path.join(tmp, 'missing'), { 'train.txt': 'a\tr\tb\n', 'test.txt': 'a\tr\tb\n' });
    await expect(loadKgDataset('tsv', dir)).rejects.toThrow(DatasetSourceError);
    await expect(loadKgDataset('tsv', dir)).rejects.toThrow(/missing valid\.txt/);
    await expect(loadKgDataset('tsv', path.join(tmp, 'nope'))).rejects.toThrow(/no such file or folder/);
  });
});

describe('adkg dataset import (CLI)', () => {
  test('imports umls and writes a readable TripleSet', async () => {
    const out = path.join(tmp, 'cli-umls');
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await buildProgram().parseAsync(['node', 'adkg', 'dataset', 'import', 'umls', path.join(KG, 'umls.tar.gz'), '--out', out]);
    } finally {
      write.mockRestore();
    }
    const ts = await readTripleSet(out);
    expect(ts.manifest.counts).toEqual({ train: 5216, valid: 652, test: 661 });
  });

  test('an unknown dataset name is refused naming the choices', async () => {
    const program = buildProgram().exitOverride();
    program.commands.forEach((c) => c.exitOverride().commands.forEach((s) => s.exitOverride().configureOutput({ writeErr: () => undefined })));
    await expect(program.parseAsync(['node', 'adkg', 'dataset', 'import', 'wn18', 'x', '--out', 'y'])).rejects.toThrow(/fb15k-237\|nations\|umls\|kinship\|tsv\|ali-ccp\|aliexpress/);
  });
});
