import type { GraphStore, StoreKind } from './graph-store';
import { defaultMemoryDbPath, MemoryStore } from './memory-store';
import { Neo4jStore } from './neo4j-store';

export interface OpenStoreOptions {
  store: StoreKind;
  /** memory store file; default .adkg/graph.jsonl (or $ADKG_DB) */
  db?: string;
  /** Neo4j label prefix; default $ADKG_NEO4J_NAMESPACE or none */
  namespace?: string;
  /** for commands that only read: the memory store takes no lock and writes nothing back */
  readOnly?: boolean;
}

export async function openStore(o: OpenStoreOptions): Promise<GraphStore> {
  if (o.store === 'neo4j') return Neo4jStore.open({ namespace: o.namespace });
  return MemoryStore.open({ dbPath: o.db ?? defaultMemoryDbPath(), readOnly: o.readOnly });
}
