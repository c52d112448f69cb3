/** The graph layer: event contract, graph model, stores (Neo4j, embedded memory), ingestion, erasure, snapshots, read-only Cypher. */
export * from './schema';
export { classifyEvent, classifyWithSchema, parseTimestamp, eventSchema, MAX_ID_LENGTH } from './events';
export type { ClassifiedEvent, InteractionEvent, PinCatalogRecord, AdvertiserCatalogRecord, RawEvent } from './events';
export * from './errors';
export type { GraphStore, StoreKind, WriteBatch, WriteResult, EraseResult, TimeWindow, KeyedTriple, CountedTriple, SnapshotEdges, StoreCounts } from './store/graph-store';
export { STORE_KINDS } from './store/graph-store';
export { MemoryStore, DEFAULT_MEMORY_DB, defaultMemoryDbPath } from './store/memory-store';
export { Neo4jStore, holdsAdkgGraph, labelsFor, namespaceLabels } from './store/neo4j-store';
export { neo4jSettingsFromEnv, DEFAULT_NEO4J_URI } from './store/neo4j-settings';
export { connectNeo4j } from './store/neo4j-connection';
export type { Neo4jSettings } from './store/neo4j-settings';
export { openStore } from './store/open-store';
export type { OpenStoreOptions } from './store/open-store';
export { ingestFiles, DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY } from './ingest/ingest';
export type { IngestSummary, IngestOptions, IngestProgress, RejectedLine } from './ingest/ingest';
export { readRecords, formatOf } from './ingest/readers';
export { buildSnapshot, snapshotToDirectory } from './snapshot';
export type { SnapshotOptions } from './snapshot';
export { userHash } from './user-hash';
export { loadQuery, resolveParams, runReadOnlyQuery, toPlain } from './cypher-runner';
export type { LoadedQuery, QueryResult, ParamDeclaration, ReadOnlyQueryOptions } from './cypher-runner';

export { syntheticEventLines, writeSyntheticEventFile } from './synthetic-events';
export type { SyntheticEventOptions } from './synthetic-events';
export { selectAnchors, nearestAnchors, tripleGraph, defaultAnchorDegreeCount, DEFAULT_ANCHOR_TYPES } from './algorithms/anchor-selection';
export type { AnchorSelectionOptions } from './algorithms/anchor-selection';
