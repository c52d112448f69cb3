/**
 * TripleSet: the plain structure that crosses from the graph (snapshot) and the dataset loaders
 * into the KGE engine (DESIGN §3). On disk it is a directory:
 *
 *   manifest.json      TripleSetManifest
 *   entities.json      EntityEntry[]   (index = entity id used in the triple arrays)
 *   relations.json     string[]        (index = relation id)
 *   train.bin, valid.bin, test.bin
 *                      one file per split that has triples; each is three little-endian int32
 *                      arrays back to back: heads[n], relations[n], tails[n]. A split the manifest counts
 *                      triples of must be there with that many; one it does not count is absent (snapshots:
 *                      train only).
 *   train.events.bin   optional, per split: one little-endian int32 per triple, how many events gave it
 *                      (snapshots; 0 for structural triples). Listed in manifest.eventCountFiles, so readers
 *                      that do not know it never open it, and the triple files stay as they were.
 *   train.daily.bin    optional, per split: the same events broken down by UTC day, sparse: three little-endian
 *                      int32 arrays back to back, triple[m], day[m], events[m], sorted by (triple, day), days
 *                      counted from manifest.daily.origin. Listed in manifest.daily.files; lets a reader count
 *                      only the events before a given day (time-respecting features).
 *   train.daily-attributed.bin
 *                      optional, beside train.daily.bin: one little-endian int32 per day entry, how many of its
 *                      events name the ad pin they followed (offsite events with a pinId: attributed to an ad
 *                      click; the rest are organic; user→advertiser triples only). Listed in
 *                      manifest.daily.attributedFiles.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { assertOutputFolder } from './output-folder';

export const TRIPLESET_FORMAT = 'adkg.tripleset';
export const TRIPLESET_VERSION = 1;

export const DAY_MS = 86_400_000;

/**
 * A file of a TripleSet that is missing, unreadable, or not of the size its manifest records. Exit 2, like any input
 * file that cannot be read.
 */
export class TripleSetFileError extends Error {
  readonly exitCode = 2;
  constructor(readonly dir: string, readonly file: string, message: string) {
    super(message);
    this.name = 'TripleSetFileError';
  }
}

/** A malformed file read from disk (wrong size, triples out of range) is bad input: exit 2, naming the TripleSet. */
function asFileError<T>(dir: string, name: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof TripleSetFileError) throw e;
    throw new TripleSetFileError(dir, name, `the TripleSet at ${dir}: ${(e as Error).message}`);
  }
}

/** The error for a file of the TripleSet at `dir` that cannot be read: missing (the TripleSet is incomplete) or other. */
function unreadable(dir: string, name: string, e: unknown, why: string): TripleSetFileError {
  const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
  return new TripleSetFileError(
    dir,
    name,
    missing
      ? `the TripleSet at ${dir} is incomplete: ${name} is missing (${why})`
      : `the TripleSet at ${dir}: ${name} cannot be read (${(e as Error).message})`,
  );
}

export type SplitName = 'train' | 'valid' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'valid', 'test'];

/** One entity: its id in the source (e.g. a userId) and its node type (User, Pin, ... or "Entity"). */
export interface EntityEntry {
  id: string;
  type: string;
}

/** Triples of one split, column-wise. All arrays have the same length. */
export interface TripleArrays {
  heads: Int32Array;
  relations: Int32Array;
  tails: Int32Array;
  /** Per triple, how many events in the window produced it (snapshots only; 0 for structural triples). */
  eventCounts?: Int32Array;
  /** The events per triple broken down by UTC day (snapshots only); sums to eventCounts per triple. */
  daily?: DailyCounts;
}

/** Sparse per-day event counts of a split's triples, sorted by (triple, day); one entry per day with events. */
export interface DailyCounts {
  /** Epoch milliseconds of UTC midnight of day 0. */
  origin: number;
  triple: Int32Array;
  day: Int32Array;
  events: Int32Array;
  /**
   * Per entry, how many of its events name the ad pin they followed (offsite events with a pinId, attributed to
   * an ad click); events − attributed were organic. Counted on user→advertiser triples (the edges that carry the
   * pinId); 0 for onsite and user→product ones. Absent in older snapshots.
   */
  attributed?: Int32Array;
}

export interface TripleSetManifest {
  format: typeof TRIPLESET_FORMAT;
  version: number;
  /** Where it came from: "snapshot:memory", "snapshot:neo4j", "dataset:fb15k-237", "simulate", ... */
  source: string;
  entities: number;
  relations: number;
  /** Triples per split present on disk. */
  counts: Partial<Record<SplitName, number>>;
  /** Entities per node type. */
  entityTypes: Record<string, number>;
  /** Time window of the events the triples came from (ISO-8601), null when unknown (public datasets). */
  window: { from: string | null; to: string | null };
  created: string;
  /** Per split that has them, the file of per-triple event counts (TripleArrays.eventCounts). */
  eventCountFiles?: Partial<Record<SplitName, string>>;
  /** Per split that has them, the file of per-day event counts (TripleArrays.daily), and day 0 (ISO-8601, a UTC midnight). */
  daily?: { origin: string; files: Partial<Record<SplitName, string>>; attributedFiles?: Partial<Record<SplitName, string>> };
  /** Free-form extra facts (snapshot options, dataset split names ...). */
  meta?: Record<string, unknown>;
}

export interface TripleSet {
  manifest: TripleSetManifest;
  entities: EntityEntry[];
  relations: string[];
  splits: Partial<Record<SplitName, TripleArrays>>;
}

/** Key that identifies an entity across stores, snapshots and exports: "Type:id". */
export function entityKey(e: EntityEntry): string {
  return `${e.type}:${e.id}`;
}

export function tripleCount(t: TripleArrays): number {
  return t.heads.length;
}

export function emptyTriples(): TripleArrays {
  return { heads: new Int32Array(0), relations: new Int32Array(0), tails: new Int32Array(0) };
}

function checkTriples(name: string, t: TripleArrays, entities: number, relations: number): void {
  const n = t.heads.length;
  if (t.relations.length !== n || t.tails.length !== n) {
    throw new Error(`TripleSet split ${name}: heads/relations/tails lengths differ (${n}, ${t.relations.length}, ${t.tails.length})`);
  }
  if (t.eventCounts) {
    if (t.eventCounts.length !== n) throw new Error(`TripleSet split ${name}: ${t.eventCounts.length} event counts for ${n} triples`);
    const bad = t.eventCounts.findIndex((c) => c < 0);
    if (bad >= 0) throw new Error(`TripleSet split ${name}: triple ${bad} has a negative event count (${t.eventCounts[bad]})`);
  }
  if (t.daily) checkDaily(name, t.daily, n, t.eventCounts);
  for (let i = 0; i < n; i++) {
    const h = t.heads[i], r = t.relations[i], tl = t.tails[i];
    if (h < 0 || h >= entities || tl < 0 || tl >= entities || r < 0 || r >= relations) {
      throw new Error(`TripleSet split ${name}: triple ${i} (${h}, ${r}, ${tl}) is out of range (${entities} entities, ${relations} relations)`);
    }
  }
}

function checkDaily(name: string, d: DailyCounts, triples: number, eventCounts: Int32Array | undefined): void {
  const m = d.triple.length;
  if (d.day.length !== m || d.events.length !== m) throw new Error(`TripleSet split ${name}: daily triple/day/events lengths differ (${m}, ${d.day.length}, ${d.events.length})`);
  if (!Number.isInteger(d.origin) || d.origin % DAY_MS !== 0) throw new Error(`TripleSet split ${name}: daily origin ${d.origin} is not a UTC midnight`);
  const sums = new Int32Array(triples);
  for (let k = 0; k < m; k++) {
    const tr = d.triple[k], day = d.day[k];
    if (tr < 0 || tr >= triples) throw new Error(`TripleSet split ${name}: daily entry ${k} names triple ${tr} of ${triples}`);
    if (day < 0 || d.events[k] <= 0) throw new Error(`TripleSet split ${name}: daily entry ${k} has day ${day}, events ${d.events[k]} (need ≥ 0 and ≥ 1)`);
    if (k > 0 && (tr < d.triple[k - 1] || (tr === d.triple[k - 1] && day <= d.day[k - 1]))) {
      throw new Error(`TripleSet split ${name}: daily entry ${k} is out of (triple, day) order`);
    }
    sums[tr] += d.events[k];
  }
  if (d.attributed) {
    if (d.attributed.length !== m) throw new Error(`TripleSet split ${name}: ${d.attributed.length} attributed counts for ${m} daily entries`);
    const bad = d.attributed.findIndex((a, k) => a < 0 || a > d.events[k]);
    if (bad >= 0) throw new Error(`TripleSet split ${name}: daily entry ${bad} has ${d.attributed[bad]} attributed of ${d.events[bad]} events (need 0 … events)`);
  }
  if (eventCounts) {
    const bad = sums.findIndex((s, i) => s !== eventCounts[i]);
    if (bad >= 0) throw new Error(`TripleSet split ${name}: triple ${bad} has ${sums[bad]} events by day but an event count of ${eventCounts[bad]}`);
  }
}

/** Builds a manifest with counts and entity types filled in from the data. */
export function makeManifest(
  source: string,
  entities: EntityEntry[],
  relations: string[],
  splits: Partial<Record<SplitName, TripleArrays>>,
  window: { from: string | null; to: string | null } = { from: null, to: null },
  meta?: Record<string, unknown>,
): TripleSetManifest {
  const counts: Partial<Record<SplitName, number>> = {};
  const eventCountFiles: Partial<Record<SplitName, string>> = {};
  const dailyFiles: Partial<Record<SplitName, string>> = {};
  const attributedFiles: Partial<Record<SplitName, string>> = {};
  let origin: number | null = null;
  for (const s of SPLIT_NAMES) {
    const t = splits[s];
    if (t) counts[s] = t.heads.length;
    if (t?.eventCounts) eventCountFiles[s] = eventCountFile(s);
    if (t?.daily) {
      if (origin !== null && origin !== t.daily.origin) throw new Error(`TripleSet split ${s}: daily origin differs from another split's`);
      origin = t.daily.origin;
      dailyFiles[s] = dailyCountFile(s);
      if (t.daily.attributed) attributedFiles[s] = attributedCountFile(s);
    }
  }
  const entityTypes: Record<string, number> = {};
  for (const e of entities) entityTypes[e.type] = (entityTypes[e.type] ?? 0) + 1;
  return {
    format: TRIPLESET_FORMAT,
    version: TRIPLESET_VERSION,
    source,
    entities: entities.length,
    relations: relations.length,
    counts,
    entityTypes,
    window,
    created: new Date().toISOString(),
    ...(Object.keys(eventCountFiles).length ? { eventCountFiles } : {}),
    ...(origin !== null ? { daily: { origin: new Date(origin).toISOString(), files: dailyFiles, ...(Object.keys(attributedFiles).length ? { attributedFiles } : {}) } } : {}),
    ...(meta ? { meta } : {}),
  };
}

/** The event-count file of a split: "train.events.bin". */
export function eventCountFile(split: SplitName): string {
  return `${split}.events.bin`;
}

/** The per-day event-count file of a split: "train.daily.bin". */
export function dailyCountFile(split: SplitName): string {
  return `${split}.daily.bin`;
}

/** The per-day attributed-event file of a split: "train.daily-attributed.bin". */
export function attributedCountFile(split: SplitName): string {
  return `${split}.daily-attributed.bin`;
}

function int32Buffer(a: Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Three int32 columns of one length, back to back (train.bin, train.daily.bin). */
function encodeColumns(a: Int32Array, b: Int32Array, c: Int32Array): Buffer {
  const n = a.length;
  const out = Buffer.allocUnsafe(n * 12);
  const view = new Int32Array(out.buffer, out.byteOffset, n * 3);
  view.set(a, 0);
  view.set(b, n);
  view.set(c, 2 * n);
  return out;
}

function decodeColumns(buf: Buffer, file: string, what: string): [Int32Array, Int32Array, Int32Array] {
  if (buf.length % 12 !== 0) throw new Error(`${file}: size ${buf.length} is not a multiple of 12 bytes (3 x int32 per ${what})`);
  const n = buf.length / 12;
  // Copy into an aligned buffer: Buffer pools may hand out unaligned offsets.
  const all = new Int32Array(n * 3);
  new Uint8Array(all.buffer).set(buf);
  return [all.subarray(0, n), all.subarray(n, 2 * n), all.subarray(2 * n, 3 * n)];
}

function decodeSplit(buf: Buffer, file: string): TripleArrays {
  const [heads, relations, tails] = decodeColumns(buf, file, 'triple');
  return { heads, relations, tails };
}

async function readListed(dir: string, name: string, listing: string): Promise<Buffer> {
  try {
    return await fs.readFile(path.join(dir, name));
  } catch (e) {
    throw unreadable(dir, name, e, `listed in manifest.${listing}`);
  }
}

/** One int32 per item (train.events.bin per triple, train.daily-attributed.bin per day entry). */
async function readInt32s(dir: string, name: string, listing: string, items: number, what: string): Promise<Int32Array> {
  const file = path.join(dir, name);
  const buf = await readListed(dir, name, listing);
  if (buf.length !== items * 4) throw new Error(`${file}: size ${buf.length} bytes, expected ${items * 4} (one int32 per ${what})`);
  const counts = new Int32Array(items);
  new Uint8Array(counts.buffer).set(buf);
  return counts;
}

/**
 * Writes a TripleSet directory (creating it). Validates ranges first so nothing half-valid is written, and refuses a
 * directory that holds another artefact (assertOutputFolder) before writing anything.
 */
export async function writeTripleSet(dir: string, ts: TripleSet): Promise<void> {
  for (const s of SPLIT_NAMES) {
    const t = ts.splits[s];
    if (t) checkTriples(s, t, ts.entities.length, ts.relations.length);
  }
  await assertOutputFolder(dir, TRIPLESET_FORMAT);
  await fs.mkdir(dir, { recursive: true });
  for (const s of SPLIT_NAMES) {
    const t = ts.splits[s];
    const file = path.join(dir, `${s}.bin`);
    if (t) await fs.writeFile(file, encodeColumns(t.heads, t.relations, t.tails));
    else await fs.rm(file, { force: true });
    const counts = path.join(dir, eventCountFile(s));
    if (t?.eventCounts) await fs.writeFile(counts, int32Buffer(t.eventCounts));
    else await fs.rm(counts, { force: true });
    const daily = path.join(dir, dailyCountFile(s));
    if (t?.daily) await fs.writeFile(daily, encodeColumns(t.daily.triple, t.daily.day, t.daily.events));
    else await fs.rm(daily, { force: true });
    const attributed = path.join(dir, attributedCountFile(s));
    if (t?.daily?.attributed) await fs.writeFile(attributed, int32Buffer(t.daily.attributed));
    else await fs.rm(attributed, { force: true });
  }
  await fs.writeFile(path.join(dir, 'entities.json'), JSON.stringify(ts.entities));
  await fs.writeFile(path.join(dir, 'relations.json'), JSON.stringify(ts.relations));
  // The manifest goes last: a directory with a manifest is complete.
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(ts.manifest, null, 2) + '\n');
}

async function readJson<T>(dir: string, name: string): Promise<T> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, name), 'utf8');
  } catch (e) {
    throw unreadable(dir, name, e, 'every TripleSet has one');
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new TripleSetFileError(dir, name, `the TripleSet at ${dir}: ${name} is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Reads a TripleSet directory written by writeTripleSet, with clear errors for what is missing or wrong. A split the
 * manifest counts triples of must be present with that many triples (TripleSetFileError otherwise); a split it does
 * not count (snapshots have train only) is left out.
 */
export async function readTripleSet(dir: string): Promise<TripleSet> {
  const manifestPath = path.join(dir, 'manifest.json');
  let manifest: TripleSetManifest;
  try {
    manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as TripleSetManifest;
  } catch (e) {
    throw new TripleSetFileError(dir, 'manifest.json', `${dir} is not a TripleSet directory: cannot read manifest.json (${(e as Error).message})`);
  }
  if (manifest.format !== TRIPLESET_FORMAT) {
    throw new TripleSetFileError(dir, 'manifest.json', `${manifestPath}: format is ${JSON.stringify(manifest.format)}, expected ${TRIPLESET_FORMAT}`);
  }
  const entities = await readJson<EntityEntry[]>(dir, 'entities.json');
  const relations = await readJson<string[]>(dir, 'relations.json');
  for (const [name, list, counted] of [['entities.json', entities, manifest.entities], ['relations.json', relations, manifest.relations]] as const) {
    if (!Array.isArray(list) || (typeof counted === 'number' && list.length !== counted)) {
      throw new TripleSetFileError(dir, name, `the TripleSet at ${dir} does not match its manifest: ${name} holds ${Array.isArray(list) ? list.length : 'no list'}, manifest.json counts ${counted}`);
    }
  }
  const splits: Partial<Record<SplitName, TripleArrays>> = {};
  for (const s of SPLIT_NAMES) {
    const name = `${s}.bin`;
    const file = path.join(dir, name);
    // A split the manifest counts triples of must be there, whole; one it does not (a snapshot's valid and test) is absent.
    const listed = manifest.counts?.[s];
    const required = typeof listed === 'number' && listed > 0;
    let buf: Buffer;
    try {
      buf = await fs.readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !required) continue;
      throw unreadable(dir, name, e, `manifest.json counts ${listed} ${s} triples`);
    }
    const t = asFileError(dir, name, () => decodeSplit(buf, file));
    if (typeof listed === 'number' && t.heads.length !== listed) {
      throw new TripleSetFileError(dir, name, `the TripleSet at ${dir} does not match its manifest: ${name} holds ${t.heads.length} triples, manifest.json counts ${listed}`);
    }
    const countsName = manifest.eventCountFiles?.[s];
    if (countsName !== undefined) t.eventCounts = await readInt32s(dir, countsName, 'eventCountFiles', t.heads.length, 'triple');
    const dailyName = manifest.daily?.files[s];
    if (manifest.daily && dailyName !== undefined) {
      const file = path.join(dir, dailyName);
      const [triple, day, events] = decodeColumns(await readListed(dir, dailyName, 'daily.files'), file, 'day entry');
      t.daily = { origin: Date.parse(manifest.daily.origin), triple, day, events };
      const attributedName = manifest.daily.attributedFiles?.[s];
      if (attributedName !== undefined) t.daily.attributed = await readInt32s(dir, attributedName, 'daily.attributedFiles', triple.length, 'day entry');
    }
    asFileError(dir, name, () => checkTriples(s, t, entities.length, relations.length));
    splits[s] = t;
  }
  if (!splits.train) throw new TripleSetFileError(dir, 'train.bin', `the TripleSet at ${dir} is incomplete: train.bin is missing`);
  return { manifest, entities, relations, splits };
}
