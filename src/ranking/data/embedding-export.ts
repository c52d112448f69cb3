/** Reads an EmbeddingExport directory (src/common/embedding-export.ts) into plain arrays. */
import { promises as fs } from 'fs';
import * as path from 'path';
import { EMBEDDING_FORMAT, EmbeddingManifest } from '../../common/embedding-export';
import { readNpy } from './npy';

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

export async function readEmbeddingExport(dir: string): Promise<EmbeddingSet> {
  const manifestPath = path.join(dir, 'manifest.json');
  let manifest: EmbeddingManifest;
  try {
    manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as EmbeddingManifest;
  } catch (e) {
    throw new Error(`${dir} is not an embedding export: cannot read manifest.json (${(e as Error).message})`);
  }
  if (manifest.format !== EMBEDDING_FORMAT) throw new Error(`${manifestPath}: format is ${JSON.stringify(manifest.format)}, expected ${EMBEDDING_FORMAT}`);
  const ent = await readNpy(path.join(dir, 'entities.npy'));
  if (ent.dtype !== 'float32' || ent.shape.length !== 2) throw new Error(`${dir}/entities.npy: expected float32 [N, d], got ${ent.dtype} ${JSON.stringify(ent.shape)}`);
  const [n, dim] = ent.shape;
  const idLines = (await fs.readFile(path.join(dir, 'entity_ids.tsv'), 'utf8')).split('\n').filter((l) => l.length > 0);
  if (idLines.length !== n) throw new Error(`${dir}/entity_ids.tsv has ${idLines.length} lines but entities.npy has ${n} rows`);
  const index = new Map<string, number>();
  idLines.forEach((line, i) => {
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new Error(`${dir}/entity_ids.tsv line ${i + 1}: expected "id<TAB>type", got ${JSON.stringify(line)}`);
    index.set(`${line.slice(tab + 1).trim()}:${line.slice(0, tab)}`, i);
  });
  const relationNames = (await fs.readFile(path.join(dir, 'relation_ids.tsv'), 'utf8')).split('\n').map((l) => l.replace(/\r$/, '').split('\t')[0]).filter((l) => l.length > 0);
  const rel = await readNpy(path.join(dir, 'relations.npy'));
  if (rel.dtype !== 'float32' || rel.shape.length !== 2 || rel.shape[0] !== relationNames.length) {
    throw new Error(`${dir}/relations.npy: expected float32 [${relationNames.length}, k], got ${rel.dtype} ${JSON.stringify(rel.shape)}`);
  }
  const relDim = rel.shape[1];
  let projections: Float32Array | null = null;
  const projFile = path.join(dir, 'projections.npy');
  const hasProj = await fs.stat(projFile).then(() => true, () => false);
  if (hasProj) {
    const p = await readNpy(projFile);
    const want = [relationNames.length, relDim, dim];
    if (p.dtype !== 'float32' || JSON.stringify(p.shape) !== JSON.stringify(want)) {
      throw new Error(`${projFile}: expected float32 ${JSON.stringify(want)}, got ${p.dtype} ${JSON.stringify(p.shape)}`);
    }
    projections = p.data as Float32Array;
  } else if (relDim !== dim) {
    throw new Error(`${dir}: relations have dim ${relDim} ≠ entity dim ${dim} but there is no projections.npy`);
  }
  return { dir, manifest, dim, relDim, entities: ent.data as Float32Array, index, relationNames, relations: rel.data as Float32Array, projections };
}

/** Row of an entity ("User", "u1") in the export, or -1. */
export function entityRow(set: EmbeddingSet, type: string, id: string): number {
  return set.index.get(`${type}:${id}`) ?? -1;
}
