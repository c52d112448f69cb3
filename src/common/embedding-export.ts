/**
 * EmbeddingExport: what `adkg train` writes and ranking/serving read (DESIGN §1, §6). A directory:
 *
 *   manifest.json        EmbeddingManifest
 *   entities.npy         float32 [numEntities, dim]  final entity vectors (TransRA: ê + Σ α·ā, composed)
 *   relations.npy        float32 [numRelations, relDim]
 *   projections.npy      float32 [numRelations, relDim, dim]   (transr, transra only)
 *   anchors.npy          float32 [numAnchors, dim]             (transra only)
 *   entity_ids.tsv       "id<TAB>type" a line, row i of entities.npy (no header)
 *   relation_ids.tsv     relation name a line, row i of relations.npy
 */
export const EMBEDDING_FORMAT = 'adkg.embeddings';

export interface EmbeddingManifest {
  format: typeof EMBEDDING_FORMAT;
  model: 'transe' | 'transr' | 'transra';
  dim: number;
  relDim: number;
  entities: number;
  relations: number;
  /** The TripleSet's window: ranking refuses an export whose window reaches into its evaluation days. */
  window: { from: string | null; to: string | null };
  data: { source: string; path?: string };
  metrics: Record<string, unknown>;
  version: string;
  created: string;
  files: Record<string, string>;
}
