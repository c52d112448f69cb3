/**
 * Writes a trained ranking model: model.json (variant, tables, dense variables, embedding version),
 * one .npy per table (all rows) and per dense variable, and the id → row maps of exact-mode tables.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { writeNpy } from '../data/npy';
import { RankingModel } from '../ranking-model';
import { RankingContext } from './context';

/** model.json's format: what a ranking model's folder holds (it has no manifest.json). */
export const RANKING_MODEL_FORMAT = 'adkg.ranking-model';

/** Tables above this are not written (they are rebuilt from their facets); the manifest says so. */
const MAX_TABLE_BYTES = 256 << 20;

export async function saveRankingModel(dir: string, model: RankingModel, ctx: RankingContext): Promise<void> {
  await fs.mkdir(path.join(dir, 'tables'), { recursive: true });
  await fs.mkdir(path.join(dir, 'dense'), { recursive: true });
  const tables = [];
  for (const t of model.tables) {
    const file = t.logicalBytes() <= MAX_TABLE_BYTES ? `tables/${t.name}.npy` : null;
    if (file) await writeNpy(path.join(dir, file), { dtype: 'float32', shape: [t.rows, t.dim], data: t.gather(Array.from({ length: t.rows }, (_, r) => r)) });
    tables.push({ name: t.name, rows: t.rows, dim: t.dim, frozen: t.frozen, optimizer: t.optimizer.kind, learningRate: t.optimizer.learningRate, file });
  }
  const dense = [];
  for (const [i, v] of model.denseVariables.entries()) {
    const file = `dense/${String(i).padStart(3, '0')}.npy`;
    await writeNpy(path.join(dir, file), { dtype: 'float32', shape: v.shape.length ? v.shape : [1], data: v.dataSync() as Float32Array });
    dense.push({ name: v.name, shape: v.shape, file });
  }
  const maps: Record<string, string> = {};
  // How each id feature finds its row: exact ids from ids_<feature>.tsv, the rest by hashString(id, seed) % rows.
  const idRows: Record<string, { mode: string; rows: number; hashSeed: number; hash: string }> = {};
  for (const [feature, m] of Object.entries(ctx.mappers)) {
    idRows[feature] = { mode: m.mode, rows: m.rows, hashSeed: m.seed, hash: 'FNV-1a over UTF-16 code units, then hash32 (src/ranking/tables/id-mapper.ts)' };
    if (m.mode !== 'exact') continue;
    maps[feature] = `ids_${feature}.tsv`;
    await fs.writeFile(path.join(dir, maps[feature]), Array.from(m.entries(), ([id, row]) => `${id.replace(/[\t\n]/g, ' ')}\t${row}\n`).join(''));
  }
  const off = ctx.offsite;
  const manifest = {
    format: RANKING_MODEL_FORMAT,
    variant: model.variant,
    embeddings: ctx.embeddings ? { dir: path.resolve(ctx.embeddings.dir), version: ctx.embeddings.manifest.version, window: ctx.embeddings.manifest.window } : null,
    // What the attention variant's offsite inputs were built from, and how its features were standardised.
    offsite: off
      ? {
          triples: path.resolve(off.graph.dir), window: off.graph.window, tokens: off.tokens, edges: off.edges, users: off.users,
          features: { width: off.featureMean.length, mean: Array.from(off.featureMean), scale: Array.from(off.featureScale) },
        }
      : null,
    evalStart: new Date(ctx.split.evalStart).toISOString(),
    kgeScale: ctx.kgeScale,
    historyLength: ctx.historyLength,
    tables,
    dense,
    idMaps: maps,
    idRows,
    facts: model.facts,
    created: new Date().toISOString(),
  };
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 2) + '\n');
}

async function holdsRankingModel(dir: string): Promise<boolean> {
  try {
    return (JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as { format?: string }).format === RANKING_MODEL_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Before a model (or an ensemble of `members`) is saved into `dir`: removes what an earlier run of another shape left
 * there, so that the folder holds one model's files. That is the member-k/ folders beyond this run's (all of them for a
 * single model), and a single model's model.json, tables/, dense/ and id maps when an ensemble is saved. Only folders
 * and files of a ranking model (model.json of format adkg.ranking-model) are touched.
 */
export async function clearStaleModels(dir: string, members: number): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const m = /^member-(\d+)$/.exec(e.name);
    if (!m || !e.isDirectory() || (members > 1 && Number(m[1]) < members)) continue;
    const member = path.join(dir, e.name);
    if (await holdsRankingModel(member)) await fs.rm(member, { recursive: true, force: true });
  }
  if (members > 1 && (await holdsRankingModel(dir))) {
    for (const e of entries) {
      if (e.name === 'model.json' || e.name === 'tables' || e.name === 'dense' || /^ids_[a-z]+\.tsv$/.test(e.name)) {
        await fs.rm(path.join(dir, e.name), { recursive: true, force: true });
      }
    }
  }
}
