import * as os from 'os';
import * as path from 'path';
import { promises as fs } from 'fs';
import { buildProgram } from '../src/cli/main';
import { formatAblation } from '../src/cli/commands/rank';
import { getBackendFactory } from '../src/kge';
import { VARIANTS, buildRankingContext, readEmbeddingExport, readImpressions, readNpy, runAblation } from '../src/ranking';
import { DAY, START, fixtureGraph, makeWorld, writeFixtureExport, writeWorld } from './ranking-fixtures';
import { simulatedWorldWithEmbeddings } from './ranking-pipeline';
import { writeTripleSet, readTripleSet } from '../src/common/triple-set';

/** Runs the CLI in-process and returns what it wrote to stdout. */
async function cli(args: string[]): Promise<string> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'adkg', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('adkg rank on a fixture world with known structure', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rk-abl-'));
    const w = makeWorld({ users: 300, pins: 120, days: 6 });
    await writeWorld(path.join(dir, 'data'), w);
    await writeFixtureExport(path.join(dir, 'emb'), w, { windowTo: new Date(START + 4 * DAY).toISOString() });
    await writeFixtureExport(path.join(dir, 'leaky'), w, { windowTo: new Date(START + 5 * DAY + 1).toISOString() });
    await writeTripleSet(path.join(dir, 'graph'), fixtureGraph(w, START + 4 * DAY));
    await writeTripleSet(path.join(dir, 'leaky-graph'), fixtureGraph(w, START + 5 * DAY));
  });

  test('ablation --json: every variant learns, KGE helps, the oracle is the ceiling', async () => {
    const out = await cli(['rank', 'ablation', '--data', path.join(dir, 'data'), '--embeddings', path.join(dir, 'emb'), '--eval-days', '2', '--epochs', '2', '--json', '--quiet']);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^variant\s+CTR AUC\s+CTR logloss\s+CTR AUC sparse/);
    const j = JSON.parse(lines[lines.length - 1]);
    expect(j.variants.map((v: { variant: string }) => v.variant)).toEqual([...VARIANTS]);
    for (const v of j.variants) {
      expect(v.ctr.auc).toBeGreaterThan(0.55);
      expect(v.cvr.auc).toBeGreaterThan(0.55);
      expect(v.ctr.logloss).toBeGreaterThan(0);
      expect(v.samplesPerSecond).toBeGreaterThan(0);
      expect(v.ctr.auc).toBeLessThan(j.oracle.ctr.auc + 0.02);
    }
    const auc = (name: string) => j.variants.find((v: { variant: string }) => v.variant === name).ctr.auc;
    // The fixture export holds the true latent vectors plus noise: using it must beat ids alone.
    expect(auc('kge-frozen')).toBeGreaterThan(auc('ids') + 0.03);
    expect(auc('attention')).toBeGreaterThan(auc('ids') + 0.03);
    expect(j.oracle.ctr.auc).toBeGreaterThan(0.7);
  });

  test('train --variant attention writes result.json and a JSON line', async () => {
    const out = path.join(dir, 'out-attn');
    const text = await cli(['rank', 'train', '--data', path.join(dir, 'data'), '--embeddings', path.join(dir, 'emb'), '--variant', 'attention', '--epochs', '1', '--out', out, '--json', '--quiet']);
    const j = JSON.parse(text.trim().split('\n').pop()!);
    expect(j.variant).toBe('attention');
    expect(j.ctr.auc).toBeGreaterThan(0.55);
    const saved = JSON.parse(await fs.readFile(path.join(out, 'result.json'), 'utf8'));
    expect(saved.embeddings.window.to).toBe(new Date(START + 4 * DAY).toISOString());
    expect(saved.facts.attentionRelations).toBe('CLICKED,CHECKOUT');
    const model = JSON.parse(await fs.readFile(path.join(out, 'model.json'), 'utf8'));
    expect(model.variant).toBe('attention');
    const pinKge = model.tables.find((t: { name: string }) => t.name === 'pin_kge');
    expect(pinKge).toMatchObject({ rows: 120, dim: 8, frozen: false });
    const npy = await readNpy(path.join(out, pinKge.file));
    expect(npy.shape).toEqual([120, 8]);
  });

  test('refuses embeddings that saw the evaluation days, and kge variants without embeddings', async () => {
    await expect(cli(['rank', 'train', '--data', path.join(dir, 'data'), '--embeddings', path.join(dir, 'leaky'), '--variant', 'lid-init', '--out', path.join(dir, 'x'), '--quiet'])).rejects.toThrow(
      /reaches into the evaluation days that start at 2026-01-05T00:00:00.000Z \(--eval-days 2\)/,
    );
    await expect(cli(['rank', 'train', '--data', path.join(dir, 'data'), '--variant', 'kge-frozen', '--out', path.join(dir, 'x'), '--quiet'])).rejects.toThrow(/--embeddings <dir> is required/);
    const leakyGraph = ['--embeddings', path.join(dir, 'emb'), '--triples', path.join(dir, 'leaky-graph'), '--variant', 'attention', '--out', path.join(dir, 'x'), '--quiet'];
    await expect(cli(['rank', 'train', '--data', path.join(dir, 'data'), ...leakyGraph])).rejects.toThrow(
      /graph snapshot .*leaky-graph were built from data up to 2026-01-06T00:00:00.000Z, which reaches into the evaluation days/,
    );
  });

  test('train --triples: the attention variant reads the users\' offsite neighbours', async () => {
    const out = path.join(dir, 'out-offsite');
    const args = ['rank', 'train', '--data', path.join(dir, 'data'), '--embeddings', path.join(dir, 'emb'), '--triples', path.join(dir, 'graph'), '--variant', 'attention'];
    const text = await cli([...args, '--epochs', '1', '--offsite-tokens', '4', '--out', out, '--json', '--quiet']);
    expect(JSON.parse(text.trim().split('\n').pop()!).cvr.auc).toBeGreaterThan(0.55);
    const saved = JSON.parse(await fs.readFile(path.join(out, 'result.json'), 'utf8'));
    expect(saved.facts).toMatchObject({ offsite: 'both', offsiteWide: 1, offsiteTokens: 4 });
    await cli([...args, '--epochs', '1', '--offsite', 'none', '--out', out, '--quiet']);
    expect(JSON.parse(await fs.readFile(path.join(out, 'result.json'), 'utf8')).facts).toMatchObject({ offsite: 'none', offsiteWide: 0 });
  });
});

describe('ranking on the real pipeline: simulator → graph snapshot → KGE → ablation', () => {
  test('a small simulated world: every variant learns (AUC clearly above 0.5)', async () => {
    const dir = path.join(os.tmpdir(), `rk-e2e-${process.pid}`);
    const backend = getBackendFactory('native').available().ok ? 'native' : 'js';
    const p = await simulatedWorldWithEmbeddings(dir, {
      sim: { users: 400, pins: 120, advertisers: 12, categories: 6, days: 6, impressionsPerUser: 80 },
      evalDays: 2,
      kge: { model: 'transr', dim: 16, epochs: 6, backend, batchSize: 512 },
    });
    const emb = await readEmbeddingExport(p.embeddingsDir);
    expect(Date.parse(emb.manifest.window.to!)).toBeLessThanOrEqual(p.evalStart);
    const graph = await readTripleSet(p.triplesDir);
    expect(Date.parse(graph.manifest.window.to!)).toBeLessThanOrEqual(p.evalStart);
    const ctx = buildRankingContext(await readImpressions(p.dataDir), emb, { evalDays: 2, graph: { set: graph, dir: p.triplesDir } });
    // Opted-in users (60 % by default) leave offsite edges in the graph; the others none.
    expect(ctx.offsite!.users).toBeGreaterThan(0.3 * ctx.cols.users.size);
    expect(ctx.offsite!.users).toBeLessThan(0.8 * ctx.cols.users.size);
    const r = await runAblation(ctx, { train: { epochs: 2 } });
    expect(r.oracle).not.toBeNull();
    const table = formatAblation(r);
    if (process.env.RANK_TEST_VERBOSE) console.log(table);
    // The chance spread of an AUC at these counts is printed with the table.
    const se = table.match(/AUC standard error at these counts \(Hanley–McNeil, at the ids variant's AUC\): CTR ±(0\.\d{4}), CVR ±(0\.\d{4})/);
    expect(se).not.toBeNull();
    expect(Number(se![1])).toBeGreaterThan(0);
    expect(Number(se![2])).toBeGreaterThan(Number(se![1])); // fewer conversions than clicks: a wider spread
    for (const v of r.variants) {
      expect([v.variant, v.ctr.auc! > 0.6]).toEqual([v.variant, true]);
      expect([v.variant, v.cvr.auc! > 0.55]).toEqual([v.variant, true]);
    }
    expect(r.variants.find((v) => v.variant === 'attention')!.facts.offsite).toBe('both');
    const facts = r.variants.find((v) => v.variant === 'kge-frozen')!.facts;
    // Users with < 4 training impressions get no KGE vector (TransR): about half of this small world's.
    expect(facts.user_kgeCoverage).toBeGreaterThan(0.3);
    expect(facts.pin_kgeCoverage).toBeGreaterThan(0.8);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
