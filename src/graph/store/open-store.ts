import type { GraphStore, StoreKind } from './graph-store';
import { defaultMemoryDbPath, MemoryStore } from './memory-store';
import { Neo4jStore } from './neo4j-store';

export interface OpenStoreOptions {
  store: StoreKind;
  /** memory store file; default .adkg/graph.jsonl (or $ADKG_DB) */
  db?: string;
  /** Neo4j label prefix; default $ADKG_NEO4J_NAMESPACE or none */
  namespace?: string;
  /** for commands that only read: nothing is written (no lock, no schema), and the graph must exist */
  readOnly?: boolean;
  /** the graph must exist (memory file, Neo4j namespace): what the command would do with it, for the error */
  mustExist?: string;
}

export async function openStore(o: OpenStoreOptions): Promise<GraphStore> {
  if (o.store === 'neo4j') return Neo4jStore.open({ namespace: o.namespace }, { readOnly: o.readOnly, mustExist: o.mustExist });
  return MemoryStore.open({ dbPath: o.db ?? defaultMemoryDbPath(), readOnly: o.readOnly, mustExist: o.mustExist });
}
