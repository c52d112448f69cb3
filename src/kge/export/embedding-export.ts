/** Writes the EmbeddingExport directory (src/common/embedding-export.ts) from trained tables. */
import { promises as fs } from 'fs';
import * as path from 'path';
import { EMBEDDING_FORMAT, type EmbeddingManifest } from '../../common/embedding-export';
import { assertOutputFolder } from '../../common/output-folder';
import type { EntityEntry } from '../../common/triple-set';
import type { ModelTables } from '../backends/backend';
import { anchorWeights } from '../representations';
import { writeNpy } from './npy';

/** Final entity vectors: the table itself, or for TransRA ê + Σ α·ā composed. */
export function composedEntityVectors(tables: ModelTables): Float32Array {
  const { shape } = tables;
  if (shape.model !== 'transra') return tables.entity;
  const { numEntities: N, dim: d, anchorsPerEntity: K } = shape;
  const out = new Float32Array(N * d);
  const alpha = new Float64Array(K);
  for (let e = 0; e < N; e++) {
    anchorWeights(tables, e, alpha);
    for (let i = 0; i < d; i++) {
      let s = tables.entity[e * d + i];
      for (let j = 0; j < K; j++) {
        const a = tables.anchorOf![e * K + j];
        if (a >= 0) s += alpha[j] * tables.anchor![a * d + i];
      }
      out[e * d + i] = s;
    }
  }
  return out;
}

export interface ExportInfo {
  entities: readonly EntityEntry[];
  relations: readonly string[];
  window: { from: string | null; to: string | null };
  data: { source: string; path?: string };
  metrics: Record<string, unknown>;
  version: string;
}

function tsvField(s: string): string {
  return s.replace(/[\t\r\n]/g, ' ');
}

/** Writes the export into dir (created); refuses a dir that holds another artefact (assertOutputFolder) before writing. */
export async function writeEmbeddingExport(dir: string, tables: ModelTables, info: ExportInfo): Promise<EmbeddingManifest> {
  const { shape } = tables;
  const { numEntities: N, numRelations: R, dim: d, relDim: k } = shape;
  if (info.entities.length !== N || info.relations.length !== R) {
    throw new Error(`export: ${info.entities.length} entity names / ${info.relations.length} relation names for a model of ${N} entities / ${R} relations`);
  }
  await assertOutputFolder(dir, EMBEDDING_FORMAT);
  await fs.mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  const put = async (name: string, key: string, data: Float32Array | Int32Array, dims: number[]): Promise<void> => {
    await writeNpy(path.join(dir, name), data, dims);
    files[key] = name;
  };
  await put('entities.npy', 'entities', composedEntityVectors(tables), [N, d]);
  await put('relations.npy', 'relations', tables.relation, [R, k]);
  if (tables.projection) await put('projections.npy', 'projections', tables.projection, [R, k, d]);
  if (tables.anchor && tables.anchorIndex) {
    const A = shape.numAnchors, K = shape.anchorsPerEntity;
    await put('anchors.npy', 'anchors', tables.anchor, [A, d]);
    await put('anchor_entities.npy', 'anchorEntities', tables.anchorIndex.anchors, [A]);
    await put('entity_anchors.npy', 'entityAnchors', tables.anchorIndex.anchorOf, [N, K]);
    await put('entity_anchor_logits.npy', 'entityAnchorLogits', tables.anchorLogit!, [N, K]);
    await put('entity_free.npy', 'entityFree', tables.entity, [N, d]);
  }
  await fs.writeFile(path.join(dir, 'entity_ids.tsv'), info.entities.map((e) => `${tsvField(e.id)}\t${tsvField(e.type)}\n`).join(''));
  files.entityIds = 'entity_ids.tsv';
  await fs.writeFile(path.join(dir, 'relation_ids.tsv'), info.relations.map((r) => `${tsvField(r)}\n`).join(''));
  files.relationIds = 'relation_ids.tsv';
  const manifest: EmbeddingManifest = {
    format: EMBEDDING_FORMAT,
    model: shape.model,
    dim: d,
    relDim: k,
    entities: N,
    relations: R,
    window: info.window,
    data: info.data,
    metrics: {
      ...info.metrics,
      ...(tables.anchorIndex ? { anchors: { count: shape.numAnchors, perEntity: shape.anchorsPerEntity, selection: tables.anchorIndex.selection } } : {}),
    },
    version: info.version,
    created: new Date().toISOString(),
    files,
  };
  // The manifest goes last: a directory with a manifest is complete.
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
