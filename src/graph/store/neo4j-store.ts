/**
 * Neo4jStore: the GraphStore in Neo4j 5 (neo4j-driver).
 *
 * Model: (:User|Pin|Advertiser|Category|Product {id}); one (:Event {id, ts}) per stored event, unique on id,
 * which makes writes idempotent; one interaction edge per event, e.g. (u)-[:CLICKED {eventId, ts, surface}]->(p),
 * (u)-[:CHECKOUT {eventId, ts, value, currency, pinId}]->(a) and, when the event names a product, a second
 * edge (u)-[:CHECKOUT {eventId, ts}]->(:Product); structural (p)-[:PROMOTED_BY]->(a), (p)-[:IN_CATEGORY]->(c),
 * (pr)-[:SOLD_BY]->(a). ts is epoch milliseconds (integer).
 *
 * A batch is one executeWrite transaction, written one of two ways (docs/graph.md; ADKG_NEO4J_WRITE_PATH):
 * - procedure: one CALL adkg.writeEvents (tools/neo4j IngestProcedures.java, the kernel API on the server) with
 *   the batch as one JSON string — 1.8–1.9× the events/s of the Cypher path, and it scales with writers in flight;
 * - cypher: one index-seek statement finds the eventIds already stored; for the fresh events the nodes are MERGEd
 *   once per distinct id, Event nodes created, and edges created between nodes found by internal id, one statement
 *   per relation type.
 * Values always travel as parameters; only labels and relation types, from fixed tables, are spliced in.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import neo4j, { Driver, ManagedTransaction, Neo4jError, Session } from 'neo4j-driver';
import type { InteractionEvent } from '../events';
import { StoreNotFoundError, StoreUnavailableError } from '../errors';
import {
  InteractionRelation,
  NODE_TYPES,
  NodeType,
  OFFSITE_RELATIONS,
  ONSITE_RELATIONS,
  STRUCTURAL_ENDS,
  STRUCTURAL_RELATIONS,
} from '../schema';
import { userHash } from '../user-hash';
import { DAY_MS } from '../../common/triple-set';
import type { CountedTriple, EraseResult, GraphStore, KeyedTriple, SnapshotEdges, StoreCounts, TimeWindow, WriteBatch, WriteResult } from './graph-store';
import { Neo4jSettings, neo4jSettingsFromEnv } from './neo4j-settings';
import { connectNeo4j, isUnavailable, unreachableError } from './neo4j-connection';

export const SCHEMA_FILE = path.resolve(__dirname, '..', '..', '..', 'cypher', 'schema.cypher');

const STORE_LABELS = [...NODE_TYPES, 'Event', 'Tombstone'] as const;
type StoreLabel = (typeof STORE_LABELS)[number];
export type LabelMap = Readonly<Record<StoreLabel, string>>;

const NAMESPACE_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,39}$/;

/** Backticked label names for a namespace ('' → the plain names used by the analyst queries in cypher/). */
export function labelsFor(namespace: string): LabelMap {
  if (namespace !== '' && !NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(`Neo4j namespace must be a letter followed by up to 39 letters or digits, got ${JSON.stringify(namespace)}`);
  }
  const prefix = namespace === '' ? '' : `${namespace}_`;
  return Object.fromEntries(STORE_LABELS.map((l) => [l, `\`${prefix}${l}\``])) as unknown as LabelMap;
}

/**
 * Cypher written against the plain labels (cypher/: `:User`, `:Pin`, …) with each store label as a namespace has it
 * (`:\`ns_User\``). Only `:Label` after a colon is rewritten, so label alternatives (`:User|Pin`) need a colon each;
 * the text is not parsed, so a string literal holding ":User" is rewritten too.
 */
export function namespaceLabels(text: string, namespace: string): string {
  const prefix = namespace === '' ? '' : `${namespace}_`;
  if (prefix === '') return text;
  const labelRe = new RegExp(`:(${STORE_LABELS.join('|')})\\b`, 'g');
  return text.replace(labelRe, (_m, l: string) => `:\`${prefix}${l}\``);
}

/** Whether a namespace holds any user, pin, advertiser or tombstone: ingest or erase has been there. */
export async function holdsAdkgGraph(tx: ManagedTransaction, namespace: string): Promise<boolean> {
  const L = labelsFor(namespace);
  const res = await tx.run(
    `CALL { MATCH (n:${L.User}) RETURN n LIMIT 1 UNION MATCH (n:${L.Pin}) RETURN n LIMIT 1 UNION MATCH (n:${L.Advertiser}) RETURN n LIMIT 1 ` +
      `UNION MATCH (n:${L.Tombstone}) RETURN n LIMIT 1 } RETURN count(n) > 0 AS found`,
  );
  return res.records[0].get('found') as boolean;
}

/** The statements of cypher/schema.cypher, with labels and schema names prefixed for a namespace. */
export function schemaStatements(text: string, namespace: string): string[] {
  const prefix = namespace === '' ? '' : `${namespace}_`;
  return text
    .split('\n')
    .filter((l) => !l.trim().startsWith('//'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => namespaceLabels(s, namespace).replace(/^CREATE (CONSTRAINT|INDEX) (\w+)/, (_m, k: string, n: string) => `CREATE ${k} ${prefix}${n}`));
}

function toNumber(v: unknown): number {
  return neo4j.isInt(v) ? (v as { toNumber(): number }).toNumber() : Number(v);
}

/** Distinct rows of an array by key, first one wins. */
function distinctBy<T>(rows: T[], key: (r: T) => string): T[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = key(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Events by relation, in first-seen order: one statement per relation type. */
function groupByRelation(events: InteractionEvent[]): Map<InteractionRelation, InteractionEvent[]> {
  const groups = new Map<InteractionRelation, InteractionEvent[]>();
  for (const e of events) {
    const g = groups.get(e.relation);
    if (g) g.push(e);
    else groups.set(e.relation, [e]);
  }
  return groups;
}

/** The internal node id a batch's MERGE returned for this id (null when the event names none). */
function nodeOf(map: Map<string, unknown>, id: string | undefined): unknown {
  return id === undefined ? null : map.get(id);
}

/** A batch's edge statement created fewer edges than it had rows: a node it MERGEd was deleted meanwhile. Retried. */
class EdgeShortfallError extends Error {}

/** Neo4j's own spelling of a label spliced into Cypher (the procedures take it as a plain string). */
function bareLabel(label: string): string {
  return label.replace(/^`|`$/g, '');
}

/** The server-side half of the procedure write path: tools/neo4j/src/main/java/adkg/neo4j/IngestProcedures.java. */
const INGEST_PROCEDURES = ['adkg.writeEvents'];

/** Each attempt after a lost race sees the other writers' work as stored, so a few suffice. */
const MAX_BATCH_ATTEMPTS = 8;

/**
 * Whether this error means "a concurrent transaction got there first: roll back and retry the batch". Cypher path:
 * the unique constraint on Event.id, recognised by its message, which names the label as spliced into Cypher,
 * backticks included (the code alone would also match other constraints). Procedure path: adkg.writeEvents marks
 * such messages 'adkg-retry:'. Both are looked for through the cause chain: errors can reach us wrapped, and one
 * unrecognised conflict once failed a whole two-writer ingest.
 */
function isLostRace(e: unknown, eventLabel: string): boolean {
  const marks = [`already exists with label ${eventLabel} `, 'adkg-retry:'];
  for (let x = e as { message?: unknown; cause?: unknown } | undefined, depth = 0; x && depth < 5; x = x.cause as typeof x, depth++) {
    const message = x.message;
    if (typeof message === 'string' && marks.some((m) => message.includes(m))) return true;
  }
  return false;
}

export class Neo4jStore implements GraphStore {
  readonly kind = 'neo4j' as const;
  readonly labels: LabelMap;

  /** Whether batches go through the adkg.writeEvents procedure (settled in open()). */
  private useProcedure = false;

  private constructor(
    readonly driver: Driver,
    readonly settings: Neo4jSettings,
  ) {
    this.labels = labelsFor(settings.namespace);
  }

  get location(): string {
    return `${this.settings.uri}${this.settings.database ? ` database ${this.settings.database}` : ''}${this.settings.namespace ? ` namespace ${this.settings.namespace}` : ''}`;
  }

  /**
   * Connects, checks that Neo4j answers, and applies cypher/schema.cypher (idempotent). `readOnly` (snapshot) writes
   * nothing, schema included; it and `mustExist` (erase: what would be done, for the message) refuse a namespace
   * that holds no adkg graph, which a mistyped --namespace would otherwise read as an empty one (or record an
   * erasure in, while the real graph keeps the user).
   */
  static async open(overrides: Partial<Neo4jSettings> = {}, access: { readOnly?: boolean; mustExist?: string } = {}): Promise<Neo4jStore> {
    const settings = neo4jSettingsFromEnv(overrides);
    labelsFor(settings.namespace); // validate before connecting
    const driver = await connectNeo4j(settings, { maxTransactionRetryTime: settings.maxRetryTimeMs, userAgent: 'adkg' });
    const store = new Neo4jStore(driver, settings);
    try {
      const purpose = access.mustExist ?? (access.readOnly ? 'read' : undefined);
      if (purpose !== undefined && !(await store.holdsGraph())) {
        throw new StoreNotFoundError(
          `Neo4j at ${store.location} holds no adkg graph${settings.namespace ? '' : ' (no namespace)'}: nothing to ${purpose} ` +
            '(check --namespace or ADKG_NEO4J_NAMESPACE, and NEO4J_URI / NEO4J_DATABASE)',
        );
      }
      if (!access.readOnly) {
        await store.ensureSchema();
        await store.chooseWritePath();
      }
    } catch (e) {
      await driver.close();
      if (isUnavailable(e) || (e as Error).message?.includes('ECONNREFUSED')) throw unreachableError(settings, e);
      throw e;
    }
    return store;
  }

  /**
   * Two with the procedure: each batch's kernel work runs on its own server thread, so two keep two cores busy
   * (ingestFiles gives each its own users). One with Cypher: concurrent batches contended on hub nodes and were
   * slower than one. Figures: docs/benchmarks.md, ingest.
   */
  get preferredConcurrency(): number {
    return this.useProcedure ? 2 : 1;
  }

  /** 'procedure' or 'cypher': how this store writes batches. */
  get writePath(): 'procedure' | 'cypher' {
    return this.useProcedure ? 'procedure' : 'cypher';
  }

  private async chooseWritePath(): Promise<void> {
    if (this.settings.writePath === 'cypher') return;
    const names = await this.withRead('looking for the ingest procedures', async (tx) => {
      const res = await tx.run(`SHOW PROCEDURES YIELD name WHERE name IN $names RETURN collect(name) AS names`, { names: INGEST_PROCEDURES });
      return res.records[0].get('names') as string[];
    });
    this.useProcedure = INGEST_PROCEDURES.every((n) => names.includes(n));
    if (!this.useProcedure && this.settings.writePath === 'procedure') {
      throw new Error(
        `ADKG_NEO4J_WRITE_PATH=procedure, but Neo4j at ${this.settings.uri} lacks ${INGEST_PROCEDURES.filter((n) => !names.includes(n)).join(', ')} ` +
          `(the tools/neo4j launcher registers them; on another server put tools/neo4j/target/adkg-neo4j.jar in its plugins/, or use ADKG_NEO4J_WRITE_PATH=cypher)`,
      );
    }
  }

  private session(mode: 'READ' | 'WRITE'): Session {
    return this.driver.session({ database: this.settings.database, defaultAccessMode: mode === 'READ' ? neo4j.session.READ : neo4j.session.WRITE });
  }

  private async withWrite<T>(what: string, work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const session = this.session('WRITE');
    try {
      return await session.executeWrite(work);
    } catch (e) {
      if (isUnavailable(e)) throw new StoreUnavailableError(`Neo4j at ${this.settings.uri} failed during ${what}: ${(e as Error).message}`, { cause: e });
      throw e;
    } finally {
      await session.close();
    }
  }

  private async withRead<T>(what: string, work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const session = this.session('READ');
    try {
      return await session.executeRead(work);
    } catch (e) {
      if (isUnavailable(e)) throw new StoreUnavailableError(`Neo4j at ${this.settings.uri} failed during ${what}: ${(e as Error).message}`, { cause: e });
      throw e;
    } finally {
      await session.close();
    }
  }

  /** Whether this namespace holds an adkg graph (holdsAdkgGraph). */
  async holdsGraph(): Promise<boolean> {
    return this.withRead('looking for the graph', (tx) => holdsAdkgGraph(tx, this.settings.namespace));
  }

  async ensureSchema(): Promise<void> {
    const statements = schemaStatements(await fs.readFile(SCHEMA_FILE, 'utf8'), this.settings.namespace);
    const session = this.session('WRITE');
    try {
      for (const s of statements) {
        try {
          await session.run(s);
        } catch (e) {
          // Two processes creating the same constraint at once: the loser sees it already exists.
          if (!/EquivalentSchemaRuleAlreadyExists|ConstraintAlreadyExists|IndexAlreadyExists/.test((e as Neo4jError).code ?? '')) throw e;
        }
      }
      await session.run('CALL db.awaitIndexes(300)');
    } finally {
      await session.close();
    }
  }

  async erasedUserHashes(): Promise<Set<string>> {
    const L = this.labels;
    return this.withRead('reading tombstones', async (tx) => {
      const res = await tx.run(`MATCH (t:${L.Tombstone}) RETURN t.userHash AS h`);
      return new Set(res.records.map((r) => r.get('h') as string));
    });
  }

  async write(input: WriteBatch): Promise<WriteResult> {
    // The ingester already removes repeats within a batch; a direct caller may not, and CREATE would then trip the constraint.
    const events = distinctBy(input.events, (e) => e.eventId);
    const repeats = input.events.length - events.length;
    const batch = repeats === 0 ? input : { ...input, events };
    // A concurrent batch may create one of our fresh events between our check and our CREATE; the unique
    // constraint then fails the transaction, and the retry sees that event as stored.
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.withWrite('a batch write', (tx) => this.writeInTransaction(tx, batch));
        return { stored: r.stored, duplicates: r.duplicates + repeats };
      } catch (e) {
        const retriable = isLostRace(e, this.labels.Event) || e instanceof EdgeShortfallError;
        if (attempt >= MAX_BATCH_ATTEMPTS || !retriable) throw e;
        // Jittered back-off, so the batches that collided do not collide again at once.
        await new Promise((r) => setTimeout(r, Math.random() * 50 * attempt));
      }
    }
  }

  private async writeInTransaction(tx: ManagedTransaction, batch: WriteBatch): Promise<WriteResult> {
    const L = this.labels;
    if (batch.advertisers.length > 0) {
      await tx.run(
        `UNWIND $rows AS row
         MERGE (a:${L.Advertiser} {id: row.advertiserId})
         SET a.vertical = coalesce(row.vertical, a.vertical)`,
        { rows: batch.advertisers.map((a) => ({ advertiserId: a.advertiserId, vertical: a.vertical ?? null })) },
      );
    }
    if (batch.pins.length > 0) await this.mergePins(tx, batch.pins.map((p) => ({ pinId: p.pinId, advertiserId: p.advertiserId, category: p.category ?? null })));
    if (batch.events.length === 0) return { stored: 0, duplicates: 0 };

    if (this.useProcedure) return this.writeEventsProcedure(tx, batch.events);
    // Index seeks find what is stored already; the rest is created with plain CREATEs, cheaper than a MERGE per event.
    const existing = await tx.run(`UNWIND $ids AS id MATCH (e:${L.Event} {id: id}) RETURN collect(id) AS ids`, { ids: batch.events.map((e) => e.eventId) });
    const stored = new Set(existing.records[0].get('ids') as string[]);
    const fresh = stored.size === 0 ? batch.events : batch.events.filter((e) => !stored.has(e.eventId));
    if (fresh.length > 0) await this.writeEvents(tx, fresh);
    return { stored: fresh.length, duplicates: batch.events.length - fresh.length };
  }

  private async mergePins(tx: ManagedTransaction, rows: { pinId: string; advertiserId: string; category: string | null }[]): Promise<void> {
    const L = this.labels;
    await tx.run(
      `UNWIND $rows AS row
       MERGE (p:${L.Pin} {id: row.pinId})
       MERGE (a:${L.Advertiser} {id: row.advertiserId})
       MERGE (p)-[:PROMOTED_BY]->(a)
       WITH p, row WHERE row.category IS NOT NULL
       MERGE (c:${L.Category} {id: row.category})
       MERGE (p)-[:IN_CATEGORY]->(c)`,
      { rows },
    );
  }

  /**
   * MERGEs each distinct id once, in sorted order (concurrent batches then take node locks in the same order),
   * and returns id → internal node id, so the edge statements find their ends by id instead of an index seek.
   * The ids are used only inside this transaction, which holds the nodes it MERGEd.
   */
  private async mergeNodes(tx: ManagedTransaction, label: string, ids: Iterable<string | undefined>): Promise<Map<string, unknown>> {
    const set = new Set<string>();
    for (const id of ids) if (id !== undefined) set.add(id);
    const list = [...set].sort();
    const map = new Map<string, unknown>();
    if (list.length === 0) return map;
    const res = await tx.run(`UNWIND $ids AS id MERGE (n:${label} {id: id}) RETURN collect(id(n)) AS n`, { ids: list });
    const nodeIds = res.records[0].get('n') as unknown[];
    list.forEach((id, i) => map.set(id, nodeIds[i]));
    return map;
  }

  /**
   * The procedure write path: the whole batch of events in one adkg.writeEvents call, which does on the server,
   * through the kernel API, what the pre-check and writeEvents do in Cypher (1.8–1.9× the events/s with one writer,
   * docs/benchmarks.md). Lost races come back as errors marked 'adkg-retry:' and the batch is retried.
   */
  private async writeEventsProcedure(tx: ManagedTransaction, events: InteractionEvent[]): Promise<WriteResult> {
    const L = this.labels;
    const res = await tx.run(
      `CALL adkg.writeEvents($labels, $batch) YIELD stored, duplicates RETURN stored, duplicates`,
      {
        labels: { Event: bareLabel(L.Event), User: bareLabel(L.User), Pin: bareLabel(L.Pin), Advertiser: bareLabel(L.Advertiser), Product: bareLabel(L.Product) },
        // One string instead of 12 lists of values: the driver packs each Bolt value with type checks that cost
        // more client CPU than parsing the events; JSON.stringify is native, and the procedure parses it in Java.
        batch: JSON.stringify({
          e: events.map((e) => e.eventId),
          t: events.map((e) => e.ts),
          r: events.map((e) => e.relation),
          off: events.map((e) => e.kind === 'offsite'),
          u: events.map((e) => e.userId),
          p: events.map((e) => e.pinId ?? null),
          a: events.map((e) => e.advertiserId ?? null),
          pr: events.map((e) => (e.kind === 'offsite' ? e.productId ?? null : null)),
          s: events.map((e) => (e.kind === 'onsite' ? e.surface ?? null : null)),
          v: events.map((e) => (e.kind === 'offsite' ? e.value ?? null : null)),
          c: events.map((e) => (e.kind === 'offsite' ? e.currency ?? null : null)),
        }),
      },
    );
    const r = res.records[0];
    return { stored: toNumber(r.get('stored')), duplicates: toNumber(r.get('duplicates')) };
  }

  /**
   * The Cypher write path for events known to be new: their nodes first (each id once per batch), the Event nodes,
   * then one statement per relation type (a static type plans better than a dynamic one) creating the edges between
   * nodes found by internal id, each counting what it created, then the structural edges. Parameters are parallel
   * lists of primitives, cheaper to send than a map per row. A shortfall (an end deleted by a concurrent erase)
   * fails the batch, which is retried.
   */
  private async writeEvents(tx: ManagedTransaction, events: InteractionEvent[]): Promise<void> {
    const L = this.labels;
    const onsite = events.filter((e) => e.kind === 'onsite');
    const offsite = events.filter((e) => e.kind === 'offsite');
    const users = await this.mergeNodes(tx, L.User, events.map((e) => e.userId));
    const pins = await this.mergeNodes(tx, L.Pin, onsite.map((e) => e.pinId));
    const advertisers = await this.mergeNodes(tx, L.Advertiser, events.map((e) => e.advertiserId));
    const products = await this.mergeNodes(tx, L.Product, offsite.map((e) => e.productId));

    await tx.run(`UNWIND range(0, size($e) - 1) AS i CREATE (:${L.Event} {id: $e[i], ts: toInteger($t[i])})`, {
      e: events.map((e) => e.eventId),
      t: events.map((e) => e.ts),
    });

    const expectCreated = async (query: string, params: Record<string, unknown>, expected: number, what: string) => {
      const res = await tx.run(query, params);
      const created = res.summary.counters.updates().relationshipsCreated;
      if (created !== expected) throw new EdgeShortfallError(`${what}: created ${created} of ${expected} edges (a node vanished mid-batch)`);
    };
    for (const [rel, group] of groupByRelation(onsite)) {
      await expectCreated(
        `UNWIND range(0, size($e) - 1) AS i
         MATCH (u) WHERE id(u) = $u[i]
         MATCH (p) WHERE id(p) = $p[i]
         CREATE (u)-[:${rel} {eventId: $e[i], ts: toInteger($t[i]), surface: $s[i]}]->(p)`,
        {
          e: group.map((e) => e.eventId), t: group.map((e) => e.ts), s: group.map((e) => e.surface ?? null),
          u: group.map((e) => nodeOf(users, e.userId)), p: group.map((e) => nodeOf(pins, e.pinId)),
        },
        group.length,
        `onsite ${rel}`,
      );
    }
    for (const [rel, group] of groupByRelation(offsite)) {
      await expectCreated(
        `UNWIND range(0, size($e) - 1) AS i
         MATCH (u) WHERE id(u) = $u[i]
         MATCH (a) WHERE id(a) = $a[i]
         CREATE (u)-[:${rel} {eventId: $e[i], ts: toInteger($t[i]), value: $v[i], currency: $c[i], pinId: $pi[i]}]->(a)
         WITH i, u WHERE $pr[i] IS NOT NULL
         MATCH (pr) WHERE id(pr) = $pr[i]
         CREATE (u)-[:${rel} {eventId: $e[i], ts: toInteger($t[i])}]->(pr)`,
        {
          e: group.map((e) => e.eventId), t: group.map((e) => e.ts),
          v: group.map((e) => e.value ?? null), c: group.map((e) => e.currency ?? null), pi: group.map((e) => e.pinId ?? null),
          u: group.map((e) => nodeOf(users, e.userId)), a: group.map((e) => nodeOf(advertisers, e.advertiserId)),
          pr: group.map((e) => nodeOf(products, e.productId)),
        },
        group.length + group.filter((e) => e.productId !== undefined).length,
        `offsite ${rel}`,
      );
    }
    await this.mergeStructure(tx, onsite, offsite, pins, advertisers, products);
  }

  /** PROMOTED_BY and SOLD_BY edges the batch's events reveal, MERGEd once per distinct pair. */
  private async mergeStructure(
    tx: ManagedTransaction,
    onsite: InteractionEvent[],
    offsite: InteractionEvent[],
    pins: Map<string, unknown>,
    advertisers: Map<string, unknown>,
    products: Map<string, unknown>,
  ): Promise<void> {
    const promoted = distinctBy(
      onsite.filter((e) => e.advertiserId !== undefined),
      (e) => `${e.pinId}\u0001${e.advertiserId}`,
    );
    if (promoted.length > 0) {
      await tx.run(
        `UNWIND range(0, size($p) - 1) AS i
         MATCH (p) WHERE id(p) = $p[i]
         MATCH (a) WHERE id(a) = $a[i]
         MERGE (p)-[:PROMOTED_BY]->(a)`,
        { p: promoted.map((e) => nodeOf(pins, e.pinId)), a: promoted.map((e) => nodeOf(advertisers, e.advertiserId)) },
      );
    }
    const soldBy = distinctBy(
      offsite.filter((e) => e.productId !== undefined),
      (e) => `${e.productId}\u0001${e.advertiserId}`,
    );
    if (soldBy.length > 0) {
      await tx.run(
        `UNWIND range(0, size($pr) - 1) AS i
         MATCH (pr) WHERE id(pr) = $pr[i]
         MATCH (a) WHERE id(a) = $a[i]
         MERGE (pr)-[:SOLD_BY]->(a)`,
        { pr: soldBy.map((e) => nodeOf(products, e.productId)), a: soldBy.map((e) => nodeOf(advertisers, e.advertiserId)) },
      );
    }
  }

  async eraseUser(userId: string): Promise<EraseResult> {
    const L = this.labels;
    return this.withWrite('erasure', async (tx) => {
      const found = await tx.run(
        `OPTIONAL MATCH (u:${L.User} {id: $userId})
         OPTIONAL MATCH (u)-[r]->()
         RETURN count(DISTINCT u) AS users, collect(DISTINCT r.eventId) AS ids`,
        { userId },
      );
      const userFound = toNumber(found.records[0].get('users')) > 0;
      const ids = found.records[0].get('ids') as string[];
      let events = 0;
      if (ids.length > 0) {
        const del = await tx.run(`UNWIND $ids AS id MATCH (e:${L.Event} {id: id}) DELETE e RETURN count(*) AS n`, { ids });
        events = toNumber(del.records[0].get('n'));
      }
      if (userFound) await tx.run(`MATCH (u:${L.User} {id: $userId}) DETACH DELETE u`, { userId });
      await tx.run(`MERGE (:${L.Tombstone} {userHash: $h})`, { h: userHash(userId) });
      return { userFound, events };
    });
  }

  async snapshotEdges(window: TimeWindow): Promise<SnapshotEdges> {
    const L = this.labels;
    const params = { from: window.from === null ? null : neo4j.int(window.from), to: window.to === null ? null : neo4j.int(window.to) };
    const targets: [InteractionRelation, NodeType][] = [
      ...ONSITE_RELATIONS.map((r): [InteractionRelation, NodeType] => [r, 'Pin']),
      ...OFFSITE_RELATIONS.map((r): [InteractionRelation, NodeType] => [r, 'Advertiser']),
      ...OFFSITE_RELATIONS.map((r): [InteractionRelation, NodeType] => [r, 'Product']),
    ];
    return this.withRead('a snapshot', async (tx) => {
      const interactions: CountedTriple[] = [];
      for (const [rel, tailType] of targets) {
        // One relationship per event (and per event's product), so count(r) is the triple's events that day.
        // The day is floor(ts / day) in integers (Cypher's integer division truncates towards zero). Attributed:
        // the events whose edge names the ad pin they followed (only user→advertiser edges carry a pinId).
        const res = tx.run(
          `MATCH (h:${L.User})-[r:${rel}]->(t:${L[tailType]})
           WHERE ($from IS NULL OR r.ts >= $from) AND ($to IS NULL OR r.ts < $to)
           WITH h, t, toInteger(r.ts) AS ts, r.pinId AS pin
           WITH h, t, CASE WHEN ts >= 0 THEN ts / $day ELSE (ts + 1) / $day - 1 END AS d, pin
           RETURN h.id AS h, t.id AS t, d, count(*) AS n, count(pin) AS a`,
          { ...params, day: neo4j.int(DAY_MS) },
        );
        for await (const rec of res) {
          interactions.push([`User:${rec.get('h') as string}`, rel, `${tailType}:${rec.get('t') as string}`, toNumber(rec.get('n')), toNumber(rec.get('d')), toNumber(rec.get('a'))]);
        }
      }
      const structural: KeyedTriple[] = [];
      for (const rel of STRUCTURAL_RELATIONS) {
        const [ht, tt] = STRUCTURAL_ENDS[rel];
        const res = tx.run(`MATCH (h:${L[ht]})-[:${rel}]->(t:${L[tt]}) RETURN DISTINCT h.id AS h, t.id AS t`);
        for await (const rec of res) structural.push([`${ht}:${rec.get('h') as string}`, rel, `${tt}:${rec.get('t') as string}`]);
      }
      return { interactions, structural };
    });
  }

  async counts(): Promise<StoreCounts> {
    const L = this.labels;
    return this.withRead('counting', async (tx) => {
      const one = async (q: string) => toNumber((await tx.run(q)).records[0].get(0));
      const nodes: Record<string, number> = {};
      for (const t of NODE_TYPES) {
        const n = await one(`MATCH (n:${L[t]}) RETURN count(n)`);
        if (n > 0) nodes[t] = n;
      }
      const interactionEdges: Record<string, number> = {};
      for (const rel of [...ONSITE_RELATIONS, ...OFFSITE_RELATIONS]) {
        const n = await one(`MATCH (:${L.User})-[r:${rel}]->() RETURN count(r)`);
        if (n > 0) interactionEdges[rel] = n;
      }
      const structuralEdges: Record<string, number> = {};
      for (const rel of STRUCTURAL_RELATIONS) {
        const [ht] = STRUCTURAL_ENDS[rel];
        const n = await one(`MATCH (:${L[ht]})-[r:${rel}]->() RETURN count(r)`);
        if (n > 0) structuralEdges[rel] = n;
      }
      return {
        events: await one(`MATCH (e:${L.Event}) RETURN count(e)`),
        nodes,
        interactionEdges,
        structuralEdges,
        erasedUsers: await one(`MATCH (t:${L.Tombstone}) RETURN count(t)`),
      };
    });
  }

  /** Deletes every node of this store's namespace and its schema; refuses on the un-namespaced graph. For tests. */
  async dropNamespace(): Promise<void> {
    const ns = this.settings.namespace;
    if (ns === '') throw new Error('dropNamespace() refuses to delete the un-namespaced graph');
    const session = this.session('WRITE');
    try {
      for (const l of STORE_LABELS) {
        for (;;) {
          const res = await session.run(`MATCH (n:${this.labels[l]}) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS n`);
          if (toNumber(res.records[0].get('n')) === 0) break;
        }
      }
      const prefix = `${ns}_`;
      for (const kind of ['CONSTRAINT', 'INDEX'] as const) {
        const res = await session.run(kind === 'CONSTRAINT' ? 'SHOW CONSTRAINTS YIELD name' : 'SHOW INDEXES YIELD name, owningConstraint WHERE owningConstraint IS NULL RETURN name');
        for (const r of res.records) {
          const name = r.get('name') as string;
          if (name.startsWith(prefix)) await session.run(`DROP ${kind} \`${name}\` IF EXISTS`);
        }
      }
    } finally {
      await session.close();
    }
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
