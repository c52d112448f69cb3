/** The storage contract both graph stores (Neo4j, embedded memory) fulfil, and the plain shapes they exchange. */
import type { AdvertiserCatalogRecord, InteractionEvent, PinCatalogRecord } from '../events';
import type { RelationName } from '../schema';

export type StoreKind = 'memory' | 'neo4j';
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'neo4j'];

/** One unit of writing. Event ids are distinct within a batch (the ingester removes repeats first). */
export interface WriteBatch {
  events: InteractionEvent[];
  pins: PinCatalogRecord[];
  advertisers: AdvertiserCatalogRecord[];
}

export interface WriteResult {
  /** events not seen before, now stored */
  stored: number;
  /** events whose eventId was already stored; they changed nothing */
  duplicates: number;
}

export interface EraseResult {
  userFound: boolean;
  /** events of the user removed */
  events: number;
}

/** Half-open window [from, to) in epoch milliseconds; null means unbounded on that side. */
export interface TimeWindow {
  from: number | null;
  to: number | null;
}

/** An edge between entity keys ("Type:id", see common/entityKey). */
export type KeyedTriple = readonly [head: string, relation: RelationName, tail: string];

/**
 * An interaction triple, one UTC day (epoch day: floor(ts / 86,400,000)) and how many of the window's events
 * that day produced it (≥ 1), and how many of those name the ad pin they followed (offsite events with a pinId:
 * attributed to an ad click; the others are organic). Counted on user→advertiser triples, whose edges carry the
 * pinId; 0 for onsite and user→product triples. A triple with events on several days comes once per day.
 */
export type CountedTriple = readonly [head: string, relation: RelationName, tail: string, events: number, day: number, attributed: number];

export interface SnapshotEdges {
  /** Distinct (interaction triple, day) pairs of the events in the window, each with its number of events. */
  interactions: CountedTriple[];
  /** Every structural triple (PROMOTED_BY, IN_CATEGORY, SOLD_BY); the snapshot keeps those whose head is present. */
  structural: KeyedTriple[];
}

export interface StoreCounts {
  events: number;
  nodes: Record<string, number>;
  /** Interaction edges per relation (one per event, plus one user→product edge per offsite event with a product). */
  interactionEdges: Record<string, number>;
  structuralEdges: Record<string, number>;
  erasedUsers: number;
}

export interface GraphStore {
  readonly kind: StoreKind;
  /** Human-readable location, for messages ("bolt://… (namespace x)", a file path). */
  readonly location: string;
  /** SHA-256 (hex) of every erased user id: the ingester drops their events so an erased user never returns. */
  erasedUserHashes(): Promise<Set<string>>;
  write(batch: WriteBatch): Promise<WriteResult>;
  /** Writes in flight at once that suit this store when the caller does not say (ingestFiles). */
  readonly preferredConcurrency: number;
  eraseUser(userId: string): Promise<EraseResult>;
  snapshotEdges(window: TimeWindow): Promise<SnapshotEdges>;
  counts(): Promise<StoreCounts>;
  /** Makes writes durable (the memory store writes its file) and releases connections and locks. */
  close(): Promise<void>;
}
