/** Reads an EmbeddingExport directory (src/common/embedding-export.ts) into plain arrays. */
import { promises as fs } from 'fs';
import * as path from 'path';
import { EMBEDDING_FORMAT, EmbeddingManifest } from '../../common/embedding-export';
import { firstNonFinite, NpyArray, readNpy } from './npy';
import { RankingInputError } from './ranking-input-error';

export interface EmbeddingSet {
  dir: string;
  manifest: EmbeddingManifest;
  dim: number;
  relDim: number;
  /** float32 [entities, dim] */
  entities: Float32Array;
  /** "Type:id" → row of entities */
  index: Map<string, number>;
  relationNames: string[];
  /** float32 [relations, relDim] */
  relations: Float32Array;
  /** float32 [relations, relDim, dim], null for TransE (projection = identity) */
  projections: Float32Array | null;
}

const TRAIN_EXPORT = 'an `adkg train --out` export';

/** Reads a text file of the export; a missing one names the export and the file (exit 2). */
async function readExportText(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new RankingInputError(
      file,
      missing
        ? `embedding export ${dir} has no ${name} (${file} does not exist); --embeddings should be ${TRAIN_EXPORT}, complete`
        : `embedding export ${dir}: cannot read ${name} (${(e as Error).message})`,
      { cause: e },
    );
  }
}

/** Reads a .npy file of the export; a missing one names the export and the file (exit 2). */
async function readExportNpy(dir: string, name: string): Promise<NpyArray> {
  const file = path.join(dir, name);
  if (!(await fs.stat(file).then(() => true, () => false))) {
    throw new RankingInputError(file, `embedding export ${dir} has no ${name} (${file} does not exist); --embeddings should be ${TRAIN_EXPORT}, complete`);
  }
  return readNpy(file);
}

/**
 * Refuses NaN or ±Infinity in an array of the export (one pass): a diverged or corrupt training would otherwise give
 * meaningless scores (AUC ≈ 0.5) instead of an error. `rowLabel` names what row r is (an entity, a relation).
 */
function assertFinite(
  file: string,
  data: Float32Array,
  rowSize: number,
  rowLabel: (row: number) => string,
  cell: (offset: number) => string = (c) => `column ${c}`,
): void {
  const bad = firstNonFinite(data);
  if (bad < 0) return;
  const row = rowSize > 0 ? Math.floor(bad / rowSize) : 0;
  const offset = rowSize > 0 ? bad % rowSize : 0;
  throw new RankingInputError(
    file,
    `${file}: row ${row} (${rowLabel(row)}) holds ${data[bad]} at ${cell(offset)}; the export has non-finite values ` +
      `(training diverged or the file is corrupt); retrain or re-export with adkg train`,
  );
}

export async function readEmbeddingExport(dir: string): Promise<EmbeddingSet> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new RankingInputError(dir, `embedding export ${dir} does not exist; --embeddings should be ${TRAIN_EXPORT}`);
  if (!st.isDirectory()) throw new RankingInputError(dir, `embedding export ${dir} is not a folder; --embeddings should be ${TRAIN_EXPORT}`);
  const manifestPath = path.join(dir, 'manifest.json');
  let manifest: EmbeddingManifest;
  try {
    manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as EmbeddingManifest;
  } catch (e) {
    throw new RankingInputError(manifestPath, `${dir} is not an embedding export: cannot read manifest.json (${(e as Error).message}); --embeddings should be ${TRAIN_EXPORT}`, { cause: e });
  }
  if (manifest?.format !== EMBEDDING_FORMAT) {
    throw new RankingInputError(manifestPath, `${manifestPath}: format is ${JSON.stringify(manifest?.format)}, expected ${EMBEDDING_FORMAT} (--embeddings should be ${TRAIN_EXPORT})`);
  }
  const entFile = path.join(dir, 'entities.npy');
  const ent = await readExportNpy(dir, 'entities.npy');
  if (ent.dtype !== 'float32' || ent.shape.length !== 2) throw new RankingInputError(entFile, `${dir}/entities.npy: expected float32 [N, d], got ${ent.dtype} ${JSON.stringify(ent.shape)}`);
  const [n, dim] = ent.shape;
  const idsFile = path.join(dir, 'entity_ids.tsv');
  const idLines = (await readExportText(dir, 'entity_ids.tsv')).split('\n').filter((l) => l.length > 0);
  if (idLines.length !== n) throw new RankingInputError(idsFile, `${dir}/entity_ids.tsv has ${idLines.length} lines but entities.npy has ${n} rows`);
  const index = new Map<string, number>();
  idLines.forEach((line, i) => {
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new RankingInputError(idsFile, `${dir}/entity_ids.tsv line ${i + 1}: expected "id<TAB>type", got ${JSON.stringify(line)}`);
    const key = `${line.slice(tab + 1).trim()}:${line.slice(0, tab)}`;
    const first = index.get(key);
    // A second row for one entity would silently replace the first: the file is not an export's.
    if (first !== undefined) throw new RankingInputError(idsFile, `${dir}/entity_ids.tsv lines ${first + 1} and ${i + 1} both name ${JSON.stringify(line)}`);
    index.set(key, i);
  });
  const entities = ent.data as Float32Array;
  // The row's name only for the message (no per-entity strings kept for a large export).
  const entityName = (r: number) => {
    const line = idLines[r], tab = line.lastIndexOf('\t');
    return `entity ${line.slice(tab + 1).trim()} ${JSON.stringify(line.slice(0, tab))}, entity_ids.tsv line ${r + 1}`;
  };
  assertFinite(entFile, entities, dim, entityName);
  const relationNames = (await readExportText(dir, 'relation_ids.tsv')).split('\n').map((l) => l.replace(/\r$/, '').split('\t')[0]).filter((l) => l.length > 0);
  const relFile = path.join(dir, 'relations.npy');
  const rel = await readExportNpy(dir, 'relations.npy');
  if (rel.dtype !== 'float32' || rel.shape.length !== 2 || rel.shape[0] !== relationNames.length) {
    throw new RankingInputError(relFile, `${dir}/relations.npy: expected float32 [${relationNames.length}, k], got ${rel.dtype} ${JSON.stringify(rel.shape)}`);
  }
  const relDim = rel.shape[1];
  const relations = rel.data as Float32Array;
  const relationLabel = (r: number) => `relation ${relationNames[r]}, relation_ids.tsv line ${r + 1}`;
  assertFinite(relFile, relations, relDim, relationLabel);
  let projections: Float32Array | null = null;
  const projFile = path.join(dir, 'projections.npy');
  const hasProj = await fs.stat(projFile).then(() => true, () => false);
  if (hasProj) {
    const p = await readNpy(projFile);
    const want = [relationNames.length, relDim, dim];
    if (p.dtype !== 'float32' || JSON.stringify(p.shape) !== JSON.stringify(want)) {
      throw new RankingInputError(projFile, `${projFile}: expected float32 ${JSON.stringify(want)}, got ${p.dtype} ${JSON.stringify(p.shape)}`);
    }
    projections = p.data as Float32Array;
    // A row of projections.npy is one relation's [relDim, dim] matrix.
    assertFinite(projFile, projections, relDim * dim, relationLabel, (o) => `[${Math.floor(o / dim)}, ${o % dim}]`);
  } else if (relDim !== dim) {
    throw new RankingInputError(dir, `${dir}: relations have dim ${relDim} ≠ entity dim ${dim} but there is no projections.npy`);
  }
  return { dir, manifest, dim, relDim, entities, index, relationNames, relations, projections };
}

/** Row of an entity ("User", "u1") in the export, or -1. */
export function entityRow(set: EmbeddingSet, type: string, id: string): number {
  return set.index.get(`${type}:${id}`) ?? -1;
}
