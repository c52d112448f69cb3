/**
 * Writes a trained ranking model: model.json (variant, tables, dense variables, embedding version),
 * one .npy per table (all rows) and per dense variable, and the id → row maps of exact-mode tables.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { writeNpy } from '../data/npy';
import { RankingModel } from '../ranking-model';
import { RankingContext } from './context';

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
    format: 'adkg.ranking-model',
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
