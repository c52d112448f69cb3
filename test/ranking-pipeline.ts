/**
 * The real pipeline on a simulated world, for the ranking end-to-end test and bench/rank.ts:
 * simulate → ingest into the memory graph store → snapshot of the training days only → KGE training
 * → EmbeddingExport. Calls the layers' exported functions (no shelling out).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { MemoryStore, buildSnapshot, ingestFiles } from '../src/graph';
import { defaultsFor, trainModel as trainKge, writeEmbeddingExport } from '../src/kge';
import type { BackendName, ModelName } from '../src/kge/backends/backend';
import { SimConfig, simulate } from '../src/sim';
import { writeTripleSet } from '../src/common/triple-set';
import { DAY_MS } from '../src/ranking/data';

export interface PipelineOptions {
  sim: Partial<SimConfig>;
  evalDays: number;
  kge: { model: ModelName; dim: number; epochs: number; backend: BackendName; batchSize?: number };
  log?: (m: string) => void;
}

export interface PipelineResult {
  dataDir: string;
  embeddingsDir: string;
  /** The snapshot the export was trained on (TripleSet directory, window ends at evalStart). */
  triplesDir: string;
  triples: number;
  kgeSeconds: number;
  evalStart: number;
}

export async function simulatedWorldWithEmbeddings(dir: string, o: PipelineOptions): Promise<PipelineResult> {
  const log = o.log ?? (() => undefined);
  const dataDir = path.join(dir, 'world');
  const embeddingsDir = path.join(dir, 'embeddings');
  const triplesDir = path.join(dir, 'triples');
  await fs.rm(dir, { recursive: true, force: true });
  const sim = await simulate(o.sim, dataDir);
  log(`simulated ${sim.counts.truth} impressions over ${sim.days} days`);
  const evalStart = Date.parse(sim.start) + (sim.days - o.evalDays) * DAY_MS;
  const store = await MemoryStore.open({ dbPath: path.join(dir, 'graph.jsonl') });
  let ts;
  try {
    await ingestFiles(store, [path.join(dataDir, 'events.jsonl')]);
    // The graph may only know the training days: the snapshot window ends where evaluation starts.
    const window = { from: null, to: evalStart };
    ts = buildSnapshot(await store.snapshotEdges(window), { window, minDegree: 0, source: 'snapshot:memory' });
  } finally {
    await store.close();
  }
  await writeTripleSet(triplesDir, ts);
  const train = ts.splits.train!;
  log(`snapshot: ${ts.entities.length} entities, ${train.heads.length} triples, window to ${ts.manifest.window.to}`);
  const d = defaultsFor(o.kge.model);
  const t0 = performance.now();
  const trained = await trainKge(
    { entities: ts.entities, relations: ts.relations, train },
    {
      model: o.kge.model,
      dim: o.kge.dim,
      relDim: o.kge.dim,
      epochs: o.kge.epochs,
      batchSize: o.kge.batchSize ?? d.batchSize,
      config: { ...d.config, seed: 1, threads: 0 },
      backend: o.kge.backend,
      progress: false,
    },
  );
  const kgeSeconds = (performance.now() - t0) / 1000;
  log(`kge ${o.kge.model} d=${o.kge.dim} ${o.kge.epochs} epochs on ${o.kge.backend}: ${kgeSeconds.toFixed(1)} s, last loss ${trained.history[trained.history.length - 1]?.loss}`);
  await writeEmbeddingExport(embeddingsDir, trained.tables, {
    entities: ts.entities,
    relations: ts.relations,
    window: ts.manifest.window,
    data: { source: ts.manifest.source },
    metrics: {},
    version: `test-${o.kge.model}`,
  });
  trained.backend.dispose();
  return { dataDir, embeddingsDir, triplesDir, triples: train.heads.length, kgeSeconds, evalStart };
}
