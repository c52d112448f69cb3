/**
 * MemoryStore: the embedded GraphStore on graphology, persisted to one JSONL file so CLI commands chain.
 *
 * In memory: a MultiDirectedGraph whose nodes are keyed "Type:id" and whose edges aggregate the events
 * between two nodes per relation (attribute `count`), plus the structural edges; and a Map eventId → event,
 * the source of truth for idempotency, erasure and time windows.
 *
 * On disk (`--db`, default .adkg/graph.jsonl): a header line, then one JSON array a line:
 *   ["N", type, id, attrs]   node attributes (e.g. an advertiser's vertical)
 *   ["S", relation, head, tail]   structural edge, ids only (types follow from the relation)
 *   ["E", eventId, ts, userId, relation, pinId, advertiserId, productId, props]   one stored event
 *   ["T", sha256(userId)]   tombstone of an erased user
 * The file is written to a temporary name and renamed over the old one, so a crash leaves either the old or
 * the new file, never a torn one. A lock file (<db>.lock, holding the writer's pid) keeps two writers apart.
 */
import { createReadStream, promises as fs } from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { MultiDirectedGraph } from 'graphology';
import type { AdvertiserCatalogRecord, InteractionEvent, PinCatalogRecord } from '../events';
import { StoreFileError, StoreLockedError, StoreNotFoundError } from '../errors';
import {
  InteractionRelation,
  isOffsiteRelation,
  isOnsiteRelation,
  NodeType,
  RelationName,
  STRUCTURAL_ENDS,
  StructuralRelation,
} from '../schema';
import { userHash } from '../user-hash';
import { DAY_MS } from '../../common/triple-set';
import type { CountedTriple, EraseResult, GraphStore, KeyedTriple, SnapshotEdges, StoreCounts, TimeWindow, WriteBatch, WriteResult } from './graph-store';

export const MEMORY_STORE_FORMAT = 'adkg.memory-graph';
export const MEMORY_STORE_VERSION = 1;
/** Default file of the embedded store, relative to the working directory; ADKG_DB overrides it. */
export const DEFAULT_MEMORY_DB = path.join('.adkg', 'graph.jsonl');

export function defaultMemoryDbPath(): string {
  return process.env.ADKG_DB && process.env.ADKG_DB.trim() !== '' ? process.env.ADKG_DB : DEFAULT_MEMORY_DB;
}

export interface NodeAttributes {
  type: NodeType;
  id: string;
  vertical?: string;
}

export interface EdgeAttributes {
  relation: RelationName;
  /** events behind an interaction edge; 0 for structural edges */
  count: number;
}

export interface MemoryStoreOptions {
  dbPath: string;
  /** Open without taking the write lock; close() then writes nothing. */
  readOnly?: boolean;
  /**
   * Refuse a file that does not exist (StoreNotFoundError naming what could not be done: 'erase user u1 from'),
   * instead of starting a new, empty store: a mistyped --db must not read as an empty graph. Read-only opens
   * always refuse.
   */
  mustExist?: string;
}

/** Whether the store file exists; a folder at that path (a --db naming a directory) is refused. */
async function fileExists(dbPath: string): Promise<boolean> {
  try {
    if ((await fs.stat(dbPath)).isDirectory()) throw new StoreFileError(dbPath, 0, 'is a folder; --db names the store file (e.g. .adkg/graph.jsonl)');
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

const SEP = '\u0001'; // ids cannot contain control characters (see events.ts), so this separator is unambiguous

function nodeKey(type: NodeType, id: string): string {
  return `${type}:${id}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(lockPath: string, dbPath: string): Promise<void> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number((await fs.readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) throw new StoreLockedError(dbPath, holder);
      await fs.rm(lockPath, { force: true }); // stale: its writer is gone
    }
  }
  throw new Error(`could not take the lock ${lockPath}`);
}

export class MemoryStore implements GraphStore {
  readonly kind = 'memory' as const;
  /** Writes are synchronous in this process: more in flight would gain nothing. */
  readonly preferredConcurrency = 1;
  readonly graph = new MultiDirectedGraph<NodeAttributes, EdgeAttributes>();
  private readonly events = new Map<string, InteractionEvent>();
  private readonly tombstones = new Set<string>();
  private dirty = false;
  private closed = false;

  private constructor(
    readonly dbPath: string,
    private readonly readOnly: boolean,
  ) {}

  get location(): string {
    return this.dbPath;
  }

  /** Opens (and loads, when the file exists) the store at dbPath; takes the write lock unless readOnly. */
  static async open(options: MemoryStoreOptions): Promise<MemoryStore> {
    const store = new MemoryStore(path.resolve(options.dbPath), options.readOnly === true);
    const purpose = options.mustExist ?? (store.readOnly ? 'read' : undefined);
    if (purpose !== undefined && !(await fileExists(store.dbPath))) {
      throw new StoreNotFoundError(
        `no memory store at ${store.dbPath}: nothing to ${purpose} (check --db or ADKG_DB; \`adkg ingest --db ${store.dbPath}\` creates one)`,
      );
    }
    if (!store.readOnly) await acquireLock(store.lockPath, store.dbPath);
    try {
      await store.load();
    } catch (e) {
      if (!store.readOnly) await fs.rm(store.lockPath, { force: true });
      throw e;
    }
    return store;
  }

  private get lockPath(): string {
    return `${this.dbPath}.lock`;
  }

  async erasedUserHashes(): Promise<Set<string>> {
    return new Set(this.tombstones);
  }

  async write(batch: WriteBatch): Promise<WriteResult> {
    this.assertWritable();
    for (const a of batch.advertisers) this.upsertAdvertiser(a);
    for (const p of batch.pins) this.upsertPin(p);
    let stored = 0;
    let duplicates = 0;
    for (const e of batch.events) {
      if (this.events.has(e.eventId)) {
        duplicates++;
        continue;
      }
      this.addEvent(e);
      stored++;
    }
    if (stored > 0 || batch.pins.length > 0 || batch.advertisers.length > 0) this.dirty = true;
    return { stored, duplicates };
  }

  async eraseUser(userId: string): Promise<EraseResult> {
    this.assertWritable();
    let events = 0;
    for (const [eventId, e] of this.events) {
      if (e.userId === userId) {
        this.events.delete(eventId);
        events++;
      }
    }
    const key = nodeKey('User', userId);
    const userFound = this.graph.hasNode(key);
    if (userFound) this.graph.dropNode(key); // drops every edge of the user with it
    this.tombstones.add(userHash(userId));
    this.dirty = true;
    return { userFound, events };
  }

  async snapshotEdges(window: TimeWindow): Promise<SnapshotEdges> {
    // Counted from the events, not the edges' `count`: that one covers all time, the snapshot only its window.
    const events = new Map<string, { h: string; r: RelationName; t: string; n: number; day: number; attributed: number }>();
    const add = (h: string, r: RelationName, t: string, day: number, attributed: number) => {
      const k = h + SEP + r + SEP + t + SEP + day;
      const seen = events.get(k);
      if (seen) (seen.n++, (seen.attributed += attributed));
      else events.set(k, { h, r, t, n: 1, day, attributed });
    };
    for (const e of this.events.values()) {
      if ((window.from !== null && e.ts < window.from) || (window.to !== null && e.ts >= window.to)) continue;
      const user = nodeKey('User', e.userId);
      const day = Math.floor(e.ts / DAY_MS);
      if (e.kind === 'onsite') add(user, e.relation, nodeKey('Pin', e.pinId as string), day, 0);
      else {
        // An offsite event naming a pin followed an ad click on it (attributed); without one it was organic.
        // Counted on the user→advertiser triple, the edge that carries the pinId (in Neo4j too), not on the product's.
        add(user, e.relation, nodeKey('Advertiser', e.advertiserId as string), day, e.pinId !== undefined ? 1 : 0);
        if (e.productId !== undefined) add(user, e.relation, nodeKey('Product', e.productId), day, 0);
      }
    }
    const interactions: CountedTriple[] = [...events.values()].map(({ h, r, t, n, day, attributed }) => [h, r, t, n, day, attributed]);
    const structural: KeyedTriple[] = [];
    this.graph.forEachEdge((_edge, attrs, source, target) => {
      if (attrs.count === 0) structural.push([source, attrs.relation, target]);
    });
    return { interactions, structural };
  }

  async counts(): Promise<StoreCounts> {
    const nodes: Record<string, number> = {};
    this.graph.forEachNode((_k, a) => {
      nodes[a.type] = (nodes[a.type] ?? 0) + 1;
    });
    const interactionEdges: Record<string, number> = {};
    const structuralEdges: Record<string, number> = {};
    this.graph.forEachEdge((_e, a) => {
      if (a.count === 0) structuralEdges[a.relation] = (structuralEdges[a.relation] ?? 0) + 1;
      else interactionEdges[a.relation] = (interactionEdges[a.relation] ?? 0) + a.count;
    });
    return { events: this.events.size, nodes, interactionEdges, structuralEdges, erasedUsers: this.tombstones.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.readOnly) return;
    try {
      if (this.dirty) await this.save();
    } finally {
      await fs.rm(this.lockPath, { force: true });
    }
  }

  // ---- graph updates (shared by write() and load()) ----

  private assertWritable(): void {
    if (this.readOnly) throw new Error(`the memory store ${this.dbPath} was opened read-only`);
    if (this.closed) throw new Error(`the memory store ${this.dbPath} is closed`);
  }

  private mergeNode(type: NodeType, id: string): string {
    const key = nodeKey(type, id);
    if (!this.graph.hasNode(key)) this.graph.addNode(key, { type, id });
    return key;
  }

  private mergeStructural(relation: StructuralRelation, headId: string, tailId: string): void {
    const [ht, tt] = STRUCTURAL_ENDS[relation];
    const h = this.mergeNode(ht, headId);
    const t = this.mergeNode(tt, tailId);
    this.graph.mergeEdgeWithKey(relation + SEP + h + SEP + t, h, t, { relation, count: 0 });
  }

  private countInteraction(relation: InteractionRelation, h: string, t: string): void {
    const key = relation + SEP + h + SEP + t;
    if (this.graph.hasEdge(key)) this.graph.updateEdgeAttribute(key, 'count', (c) => (c ?? 0) + 1);
    else this.graph.addEdgeWithKey(key, h, t, { relation, count: 1 });
  }

  private upsertPin(p: PinCatalogRecord): void {
    this.mergeStructural('PROMOTED_BY', p.pinId, p.advertiserId);
    if (p.category !== undefined) this.mergeStructural('IN_CATEGORY', p.pinId, p.category);
  }

  private upsertAdvertiser(a: AdvertiserCatalogRecord): void {
    const key = this.mergeNode('Advertiser', a.advertiserId);
    if (a.vertical !== undefined) this.graph.setNodeAttribute(key, 'vertical', a.vertical);
  }

  private addEvent(e: InteractionEvent): void {
    this.events.set(e.eventId, e);
    const user = this.mergeNode('User', e.userId);
    if (e.kind === 'onsite') {
      const pin = this.mergeNode('Pin', e.pinId as string);
      this.countInteraction(e.relation, user, pin);
      if (e.advertiserId !== undefined) this.mergeStructural('PROMOTED_BY', e.pinId as string, e.advertiserId);
    } else {
      const adv = this.mergeNode('Advertiser', e.advertiserId as string);
      this.countInteraction(e.relation, user, adv);
      if (e.productId !== undefined) {
        this.countInteraction(e.relation, user, this.mergeNode('Product', e.productId));
        this.mergeStructural('SOLD_BY', e.productId, e.advertiserId as string);
      }
    }
  }

  // ---- persistence ----

  private async load(): Promise<void> {
    let stream;
    if (!(await fileExists(this.dbPath))) return; // a new store
    stream = createReadStream(this.dbPath, { encoding: 'utf8', highWaterMark: 1 << 20 });
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line === '') continue;
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch (e) {
        throw new StoreFileError(this.dbPath, n, `not JSON (${(e as Error).message})`);
      }
      if (n === 1) {
        const h = rec as { format?: string; version?: number };
        if (h?.format !== MEMORY_STORE_FORMAT) throw new StoreFileError(this.dbPath, n, `not an adkg memory store (format ${JSON.stringify(h?.format)}, expected ${MEMORY_STORE_FORMAT})`);
        if (h.version !== MEMORY_STORE_VERSION) throw new StoreFileError(this.dbPath, n, `version ${h.version} is not supported (expected ${MEMORY_STORE_VERSION})`);
        continue;
      }
      if (!Array.isArray(rec)) throw new StoreFileError(this.dbPath, n, 'expected a JSON array');
      this.applyRecord(rec, n);
    }
  }

  private applyRecord(r: unknown[], line: number): void {
    switch (r[0]) {
      case 'N': {
        const key = this.mergeNode(r[1] as NodeType, r[2] as string);
        if (r[3]) this.graph.mergeNodeAttributes(key, r[3] as Partial<NodeAttributes>);
        return;
      }
      case 'S':
        this.mergeStructural(r[1] as StructuralRelation, r[2] as string, r[3] as string);
        return;
      case 'E': {
        const relation = r[4] as string;
        if (!isOnsiteRelation(relation) && !isOffsiteRelation(relation)) throw new StoreFileError(this.dbPath, line, `unknown relation ${JSON.stringify(relation)}`);
        const e: InteractionEvent = {
          kind: isOnsiteRelation(relation) ? 'onsite' : 'offsite',
          eventId: r[1] as string,
          ts: r[2] as number,
          userId: r[3] as string,
          relation,
        };
        if (r[5] !== null) e.pinId = r[5] as string;
        if (r[6] !== null) e.advertiserId = r[6] as string;
        if (r[7] !== null) e.productId = r[7] as string;
        if (r[8]) Object.assign(e, r[8]);
        this.addEvent(e);
        return;
      }
      case 'T':
        this.tombstones.add(r[1] as string);
        return;
      default:
        throw new StoreFileError(this.dbPath, line, `unknown record type ${JSON.stringify(r[0])}`);
    }
  }

  private async save(): Promise<void> {
    await fs.mkdir(path.dirname(this.dbPath), { recursive: true });
    const tmp = `${this.dbPath}.tmp-${process.pid}`;
    const fh = await fs.open(tmp, 'w');
    try {
      let chunk: string[] = [];
      let size = 0;
      const push = async (line: string) => {
        chunk.push(line);
        size += line.length;
        if (size >= 1 << 20) await flush();
      };
      const flush = async () => {
        if (chunk.length === 0) return;
        await fh.write(chunk.join('\n') + '\n');
        chunk = [];
        size = 0;
      };
      await push(JSON.stringify({ format: MEMORY_STORE_FORMAT, version: MEMORY_STORE_VERSION, events: this.events.size }));
      for (const key of this.graph.nodes()) {
        const a = this.graph.getNodeAttributes(key);
        await push(JSON.stringify(['N', a.type, a.id, a.vertical !== undefined ? { vertical: a.vertical } : null]));
      }
      for (const edge of this.graph.edges()) {
        const a = this.graph.getEdgeAttributes(edge);
        if (a.count !== 0) continue;
        const h = this.graph.getNodeAttributes(this.graph.source(edge)).id;
        const t = this.graph.getNodeAttributes(this.graph.target(edge)).id;
        await push(JSON.stringify(['S', a.relation, h, t]));
      }
      for (const e of this.events.values()) {
        const props: Record<string, unknown> = {};
        if (e.surface !== undefined) props.surface = e.surface;
        if (e.value !== undefined) props.value = e.value;
        if (e.currency !== undefined) props.currency = e.currency;
        await push(
          JSON.stringify(['E', e.eventId, e.ts, e.userId, e.relation, e.pinId ?? null, e.advertiserId ?? null, e.productId ?? null, Object.keys(props).length ? props : null]),
        );
      }
      for (const t of this.tombstones) await push(JSON.stringify(['T', t]));
      await flush();
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, this.dbPath);
    this.dirty = false;
  }
}
