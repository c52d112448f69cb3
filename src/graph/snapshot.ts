/**
 * Snapshot: the edges of a time window, from either store, turned into a TripleSet (DESIGN §3).
 * Both stores hand over the same plain edges and this one function orders them, so the same events give
 * byte-identical entities.json, relations.json and train.bin from Neo4j and from the memory store.
 */
import { DailyCounts, DAY_MS, EntityEntry, makeManifest, TRIPLESET_FORMAT, TripleSet, writeTripleSet } from '../common/triple-set';
import { assertOutputFolder } from '../common/output-folder';
import type { SnapshotEdges, TimeWindow } from './store/graph-store';
import { openStore, OpenStoreOptions } from './store/open-store';

export interface SnapshotOptions {
  window: TimeWindow;
  /** Entities with fewer distinct triples are dropped, repeatedly, until every one left has at least this many (0 = keep all). */
  minDegree: number;
  /** "snapshot:memory" or "snapshot:neo4j" */
  source: string;
}

const SEP = '\u0001';

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Splits an entity key "Type:id" (types never contain ':'). */
function splitKey(key: string): EntityEntry {
  const i = key.indexOf(':');
  return { type: key.slice(0, i), id: key.slice(i + 1) };
}

/** A triple kept by the snapshot, its events in the window (0 for structural triples) and those per epoch day. */
type Row = { h: string; r: string; t: string; events: number; days: Map<number, { events: number; attributed: number }> };

/**
 * The window's distinct interaction triples, plus the structural triples whose head is among their
 * entities (a pin's advertiser and category, a product's advertiser), pruned to minDegree.
 * Entities are sorted by type then id, relations by name, triples by (head, relation, tail).
 * Each triple keeps how many events produced it (train.eventCounts), for readers that want repeats, and those
 * per UTC day (train.daily, days counted from the first day with an event), for readers that must not see
 * events after a given day, with how many of them were attributed to an ad click (train.daily.attributed, written as
 * train.daily-attributed.bin).
 */
export function buildSnapshot(edges: SnapshotEdges, options: SnapshotOptions): TripleSet {
  const triples = new Map<string, Row>();
  const present = new Set<string>();
  for (const [h, r, t, events, day, attributed] of edges.interactions) {
    const key = h + SEP + r + SEP + t;
    let row = triples.get(key);
    if (!row) triples.set(key, (row = { h, r, t, events: 0, days: new Map() }));
    // A store may hand a triple over in parts (one per day, or more); its events add up.
    row.events += events;
    const d = row.days.get(day);
    if (d) (d.events += events), (d.attributed += attributed);
    else row.days.set(day, { events, attributed });
    present.add(h);
    present.add(t);
  }
  for (const [h, r, t] of edges.structural) {
    if (present.has(h)) triples.set(h + SEP + r + SEP + t, { h, r, t, events: 0, days: new Map() });
  }
  let kept = [...triples.values()];
  if (options.minDegree > 1) kept = pruneToMinDegree(kept, options.minDegree);

  const keys = new Set<string>();
  const relationNames = new Set<string>();
  for (const { h, r, t } of kept) {
    keys.add(h);
    keys.add(t);
    relationNames.add(r);
  }
  const entities = [...keys].map(splitKey).sort((a, b) => compareStrings(a.type, b.type) || compareStrings(a.id, b.id));
  const relations = [...relationNames].sort(compareStrings);
  const entityIndex = new Map(entities.map((e, i) => [`${e.type}:${e.id}`, i]));
  const relationIndex = new Map(relations.map((r, i) => [r, i]));

  const rows = kept.map((row) => ({ h: entityIndex.get(row.h) as number, r: relationIndex.get(row.r) as number, t: entityIndex.get(row.t) as number, row }));
  rows.sort((a, b) => a.h - b.h || a.r - b.r || a.t - b.t);
  const n = rows.length;
  const train = { heads: new Int32Array(n), relations: new Int32Array(n), tails: new Int32Array(n), eventCounts: new Int32Array(n), daily: dailyCounts(rows.map((x) => x.row.days)) };
  rows.forEach(({ h, r, t, row }, i) => {
    train.heads[i] = h;
    train.relations[i] = r;
    train.tails[i] = t;
    train.eventCounts[i] = row.events;
  });
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const manifest = makeManifest(
    options.source,
    entities,
    relations,
    { train },
    { from: iso(options.window.from), to: iso(options.window.to) },
    { minDegree: options.minDegree, structuralEdges: 'included for entities present' },
  );
  return { manifest, entities, relations, splits: { train } };
}

/** The per-day breakdown of the triples' events (in triple order), days counted from the earliest one (day 0 = epoch when none). */
function dailyCounts(days: Map<number, { events: number; attributed: number }>[]): DailyCounts {
  let first = Infinity;
  let m = 0;
  for (const d of days) {
    for (const day of d.keys()) first = Math.min(first, day);
    m += d.size;
  }
  if (first === Infinity) first = 0;
  const out = { origin: first * DAY_MS, triple: new Int32Array(m), day: new Int32Array(m), events: new Int32Array(m), attributed: new Int32Array(m) };
  let k = 0;
  days.forEach((d, i) => {
    for (const day of [...d.keys()].sort((a, b) => a - b)) {
      out.triple[k] = i;
      const c = d.get(day) as { events: number; attributed: number };
      out.day[k] = day - first;
      out.attributed[k] = c.attributed;
      out.events[k++] = c.events;
    }
  });
  return out;
}

/** Drops triples touching an entity of degree < minDegree until none is left (a k-core on the multigraph of distinct triples). */
function pruneToMinDegree(triples: Row[], minDegree: number): Row[] {
  let current = triples;
  for (;;) {
    const degree = new Map<string, number>();
    for (const { h, t } of current) {
      degree.set(h, (degree.get(h) ?? 0) + 1);
      degree.set(t, (degree.get(t) ?? 0) + 1);
    }
    const next = current.filter(({ h, t }) => (degree.get(h) as number) >= minDegree && (degree.get(t) as number) >= minDegree);
    if (next.length === current.length) return next;
    current = next;
  }
}

/** Opens a store read-only, writes the window's TripleSet to outDir, closes the store. An outDir holding another artefact is refused first. */
export async function snapshotToDirectory(store: OpenStoreOptions, window: TimeWindow, minDegree: number, outDir: string): Promise<TripleSet> {
  await assertOutputFolder(outDir, TRIPLESET_FORMAT);
  const s = await openStore({ ...store, readOnly: true });
  try {
    const ts = buildSnapshot(await s.snapshotEdges(window), { window, minDegree, source: `snapshot:${s.kind}` });
    await writeTripleSet(outDir, ts);
    return ts;
  } finally {
    await s.close();
  }
}
