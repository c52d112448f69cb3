/** The options every command that touches the graph takes: --store, --db, --namespace. */
import { Command } from 'commander';
import { DEFAULT_MEMORY_DB, OpenStoreOptions, STORE_KINDS, StoreKind } from '../graph';
import { parseChoice } from './options';

export interface StoreFlags {
  store: StoreKind;
  db?: string;
  namespace?: string;
}

export function addStoreOptions(cmd: Command): Command {
  return cmd
    .option('--store <kind>', `graph store: ${STORE_KINDS.join('|')} (neo4j: NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE)`, parseChoice('--store', STORE_KINDS), 'memory')
    .option('--db <path>', `memory store file (default $ADKG_DB or ${DEFAULT_MEMORY_DB}; ignored with --store neo4j)`)
    .option('--namespace <name>', 'Neo4j label prefix that keeps a graph apart in a shared database (default $ADKG_NEO4J_NAMESPACE or none)');
}

export function storeOptions(flags: StoreFlags, readOnly = false): OpenStoreOptions {
  return { store: flags.store, db: flags.db, namespace: flags.namespace, readOnly };
}
