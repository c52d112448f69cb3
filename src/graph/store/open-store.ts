import type { GraphStore, StoreKind } from './graph-store';
import { defaultMemoryDbPath, MemoryStore } from './memory-store';
import { Neo4jStore } from './neo4j-store';

export interface OpenStoreOptions {
  store: StoreKind;
  /** memory store file; default .adkg/graph.jsonl (or $ADKG_DB) */
  db?: string;
  /** Neo4j label prefix; default $ADKG_NEO4J_NAMESPACE or none */
  namespace?: string;
  /** for commands that only read: the memory store takes no lock and writes nothing back (and must exist) */
  readOnly?: boolean;
  /** the memory store file must exist: what the command would do with it, for the error (e.g. 'erase') */
  mustExist?: string;
}

export async function openStore(o: OpenStoreOptions): Promise<GraphStore> {
  if (o.store === 'neo4j') return Neo4jStore.open({ namespace: o.namespace });
  return MemoryStore.open({ dbPath: o.db ?? defaultMemoryDbPath(), readOnly: o.readOnly, mustExist: o.mustExist });
}
