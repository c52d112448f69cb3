/**
 * Inputs of `adkg rank` that cannot be used: each is refused with exit code 2 (README: "an input file that cannot be
 * used") and a message naming the path and what is wrong. NaN/Infinity in an embedding export is refused when read,
 * and the metrics refuse non-finite scores instead of printing ≈0.5 or "—".
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../src/cli/main';
import { RankingInputError, readEmbeddingExport, readImpressions, readNpy, writeNpy } from '../src/ranking/data';
import { logLoss, rocAuc } from '../src/ranking/evaluation';
import { DAY, START, makeWorld, writeFixtureExport, writeWorld } from './ranking-fixtures';

const tmpDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'rk-input-errors-'));
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { exitCode?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { exitCode?: unknown };
  }
  throw new Error('expected a rejection, but the promise resolved');
}

// A tiny world: entities.npy rows are users u0..u11, then pins p0..p7, then advertisers a0..a2.
const world = makeWorld({ users: 12, pins: 8, advertisers: 3, days: 3, impressionsPerUserDay: 2 });
const windowTo = new Date(START + 2 * DAY).toISOString();

async function exportDir(): Promise<string> {
  const dir = await tmpDir();
  await writeFixtureExport(dir, world, { windowTo, dim: 4 });
  return dir;
}

/** Sets one value of a float32 .npy file of the export in place. */
async function poke(file: string, index: number, value: number): Promise<void> {
  const a = await readNpy(file);
  a.data[index] = value;
  await writeNpy(file, a);
}

describe('non-finite values in an embedding export are refused when read', () => {
  test('a clean export still reads', async () => {
    const emb = await readEmbeddingExport(await exportDir());
    expect(emb.dim).toBe(4);
    expect(emb.index.get('User:u3')).toBe(3);
  });

  test('a NaN row in entities.npy names the file, the row and the entity, exit 2', async () => {
    const dir = await exportDir();
    const file = path.join(dir, 'entities.npy');
    await poke(file, 3 * 4 + 2, NaN); // row 3 = User u3, column 2
    const e = await rejection(readEmbeddingExport(dir));
    expect(e).toBeInstanceOf(RankingInputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/row 3 \(entity User "u3", entity_ids\.tsv line 4\) holds NaN at column 2/);
  });

  test('the first bad row is the one named (a later pin row is Infinity too)', async () => {
    const dir = await exportDir();
    const file = path.join(dir, 'entities.npy');
    await poke(file, 13 * 4, Infinity); // row 13 = Pin p1
    await poke(file, 18 * 4 + 3, NaN); // row 18 = Pin p6
    const e = await rejection(readEmbeddingExport(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/row 13 \(entity Pin "p1", entity_ids\.tsv line 14\) holds Infinity at column 0/);
  });

  test('Infinity in relations.npy names the file, the row and the relation, exit 2', async () => {
    const dir = await exportDir();
    const file = path.join(dir, 'relations.npy');
    await poke(file, 1 * 4 + 1, -Infinity); // row 1 = CHECKOUT
    const e = await rejection(readEmbeddingExport(dir));
    expect(e).toBeInstanceOf(RankingInputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/row 1 \(relation CHECKOUT, relation_ids\.tsv line 2\) holds -Infinity/);
  });

  test('NaN in projections.npy names the file, the relation and the matrix element, exit 2', async () => {
    const dir = await exportDir();
    const file = path.join(dir, 'projections.npy');
    await poke(file, 2 * 16 + 1 * 4 + 3, NaN); // relation 2 = PROMOTED_BY, element [1, 3]
    const e = await rejection(readEmbeddingExport(dir));
    expect(e).toBeInstanceOf(RankingInputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/row 2 \(relation PROMOTED_BY, relation_ids\.tsv line 3\) holds NaN at \[1, 3\]/);
  });

  test('adkg rank train --variant kge-frozen with a NaN export fails with exit code 2 before training', async () => {
    const data = await tmpDir();
    await writeWorld(data, world);
    const emb = await exportDir();
    await poke(path.join(emb, 'entities.npy'), 5 * 4, NaN);
    const out = path.join(data, 'model');
    const e = await rejection(
      buildProgram().parseAsync(['node', 'adkg', 'rank', 'train', '--variant', 'kge-frozen', '--data', data, '--embeddings', emb, '--eval-days', '1', '--epochs', '1', '--backend', 'cpu', '--out', out, '--quiet']),
    );
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/entities\.npy: row 5 \(entity User "u5"/);
  }, 60_000);
});

describe('metrics refuse NaN and infinite scores', () => {
  test('rocAuc throws on a NaN or infinite score, naming its index', () => {
    expect(() => rocAuc([0, 1, 0, 1], [0.1, NaN, 0.3, 0.9])).toThrow(/rocAuc: score 1 of 4 is NaN/);
    expect(() => rocAuc([0, 1], [Infinity, 0.5])).toThrow(/rocAuc: score 0 of 2 is Infinity/);
    expect(() => rocAuc([0, 1], [0.2, -Infinity])).toThrow(/score 1 of 2 is -Infinity/);
    // Not computable stays null: one class only, or no samples.
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNull();
    expect(rocAuc([], [])).toBeNull();
  });

  test('logLoss throws on a NaN or infinite probability instead of returning NaN (printed as "—")', () => {
    expect(() => logLoss([1, 0, 1], [0.9, NaN, 0.6])).toThrow(/logLoss: probability 1 of 3 is NaN/);
    expect(() => logLoss([1, 0], [Infinity, 0.1])).toThrow(/probability 0 of 2 is Infinity/);
    expect(logLoss([], [])).toBeNull();
    expect(logLoss([1, 0], [1, 0])).toBeCloseTo(-Math.log(1 - 1e-7), 6); // finite extremes are still clipped
  });
});

describe('input problems of the ranking readers are exit 2, naming the path', () => {
  test('--data that does not exist', async () => {
    const missing = path.join(await tmpDir(), 'no-such-data');
    const e = await rejection(readImpressions(missing));
    expect(e).toBeInstanceOf(RankingInputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(new RegExp(`--data ${escape(missing)} does not exist`));
  });

  test('--data folder with neither truth.jsonl nor impressions.jsonl', async () => {
    const dir = await tmpDir();
    const e = await rejection(readImpressions(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(new RegExp(`--data ${escape(dir)} has neither truth\\.jsonl`));
  });

  test('an empty truth.jsonl, and one of blank lines only', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'truth.jsonl');
    await fs.writeFile(file, '');
    let e = await rejection(readImpressions(dir));
    expect(e).toBeInstanceOf(RankingInputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(new RegExp(`^${escape(file)} has no impressions`));
    await fs.writeFile(file, '\n  \n\n');
    e = await rejection(readImpressions(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${file} has no impressions`);
  });

  test('a line that is not JSON, not an object, or not a valid record names the file and line', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'impressions.jsonl');
    const good = JSON.stringify(world.records[0]);
    await fs.writeFile(file, `${good}\n{oops\n`);
    let e = await rejection(readImpressions(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${file} line 2: not JSON`);
    await fs.writeFile(file, `${good}\nnull\n`);
    e = await rejection(readImpressions(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${file} line 2: expected a JSON object`);
    await fs.writeFile(file, `${good}\n${JSON.stringify({ ...world.records[1], click: 2 })}\n`);
    e = await rejection(readImpressions(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${file} line 2: click must be 0 or 1`);
  });

  test('a truth.jsonl probability outside [0, 1] (or too large to be finite) names the file and line', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'truth.jsonl');
    const good = JSON.stringify(world.records[0]);
    for (const [key, bad] of [['pClick', '1.5'], ['pConvert', '-0.1'], ['pClick', '1e400'], ['pConvert', '"0.3"']]) {
      await fs.writeFile(file, `${good}\n${JSON.stringify(world.records[1]).replace(new RegExp(`"${key}":[^,}]+`), `"${key}":${bad}`)}\n`);
      const e = await rejection(readImpressions(dir));
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(`${file} line 2: ${key} must be a probability in [0, 1]`);
    }
  });

  test('--embeddings folder that does not exist, or a file', async () => {
    const base = await tmpDir();
    const missing = path.join(base, 'no-such-export');
    let e = await rejection(readEmbeddingExport(missing));
    expect(e).toBeInstanceOf(RankingInputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(new RegExp(`embedding export ${escape(missing)} does not exist.*adkg train`));
    const file = path.join(base, 'a-file');
    await fs.writeFile(file, 'x');
    e = await rejection(readEmbeddingExport(file));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`embedding export ${file} is not a folder`);
  });

  test('an entity_ids.tsv naming one entity twice is refused, naming both lines', async () => {
    const dir = await exportDir();
    const ids = path.join(dir, 'entity_ids.tsv');
    const lines = (await fs.readFile(ids, 'utf8')).split('\n');
    lines[4] = lines[1];
    await fs.writeFile(ids, lines.join('\n'));
    const e = await rejection(readEmbeddingExport(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${dir}/entity_ids.tsv lines 2 and 5 both name ${JSON.stringify(lines[1])}`);
  });

  test('an export without entity_ids.tsv names the export and the file, and asks for an adkg train export', async () => {
    const dir = await exportDir();
    await fs.rm(path.join(dir, 'entity_ids.tsv'));
    const e = await rejection(readEmbeddingExport(dir));
    expect(e).toBeInstanceOf(RankingInputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(new RegExp(`^embedding export ${escape(dir)} has no entity_ids\\.tsv`));
    expect(e.message).toContain('adkg train --out');
    expect(e.message).not.toMatch(/^ENOENT/);
  });

  test('an export without relation_ids.tsv, entities.npy, relations.npy or manifest.json, exit 2 each', async () => {
    for (const name of ['relation_ids.tsv', 'entities.npy', 'relations.npy']) {
      const dir = await exportDir();
      await fs.rm(path.join(dir, name));
      const e = await rejection(readEmbeddingExport(dir));
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(`embedding export ${dir} has no ${name}`);
    }
    const dir = await exportDir();
    await fs.rm(path.join(dir, 'manifest.json'));
    const e = await rejection(readEmbeddingExport(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${dir} is not an embedding export: cannot read manifest.json`);
  });

  test('a truncated or wrongly shaped .npy in the export is exit 2, naming the file', async () => {
    const dir = await exportDir();
    const file = path.join(dir, 'entities.npy');
    const buf = await fs.readFile(file);
    await fs.writeFile(file, buf.subarray(0, buf.length - 8));
    let e = await rejection(readEmbeddingExport(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(file);
    await writeNpy(file, { dtype: 'float32', shape: [23 * 4], data: new Float32Array(23 * 4) });
    e = await rejection(readEmbeddingExport(dir));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${dir}/entities.npy: expected float32 [N, d]`);
  });
});
