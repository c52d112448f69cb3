/**
 * A tiny world with known structure for ranking tests: users, advertisers and pins have latent
 * vectors; pClick rises with user·pin affinity and pConvert with user·advertiser affinity. A tiny
 * "KGE export" holds those latent vectors plus noise, as a KGE that learned the graph would.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { EMBEDDING_FORMAT, EmbeddingManifest } from '../src/common/embedding-export';
import { ImpressionRecord } from '../src/common/impression';
import { SeededRandom } from '../src/common/rng';
import { EntityEntry, TripleSet, makeManifest } from '../src/common/triple-set';
import { writeNpy } from '../src/ranking/data/npy';

export const DAY = 86_400_000;
export const START = Date.UTC(2026, 0, 1);

export interface FixtureWorld {
  records: ImpressionRecord[];
  latentDim: number;
  users: Float32Array;
  pins: Float32Array;
  advertisers: Float32Array;
  pinAdvertiser: Int32Array;
  nUsers: number;
  nPins: number;
  nAdvertisers: number;
  days: number;
}

export interface FixtureOptions {
  users?: number;
  pins?: number;
  advertisers?: number;
  days?: number;
  impressionsPerUserDay?: number;
  seed?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function makeWorld(o: FixtureOptions = {}): FixtureWorld {
  const nU = o.users ?? 300, nP = o.pins ?? 120, nA = o.advertisers ?? 12, days = o.days ?? 6, per = o.impressionsPerUserDay ?? 4;
  const L = 4;
  const rng = new SeededRandom(o.seed ?? 1);
  const vec = (n: number) => Float32Array.from({ length: n * L }, () => rng.normal());
  const users = vec(nU), advertisers = vec(nA);
  const pinAdvertiser = Int32Array.from({ length: nP }, () => rng.int(nA));
  const pins = new Float32Array(nP * L);
  for (let p = 0; p < nP; p++) for (let k = 0; k < L; k++) pins[p * L + k] = advertisers[pinAdvertiser[p] * L + k] * 0.7 + rng.normal() * 0.5;
  const dot = (a: Float32Array, i: number, b: Float32Array, j: number) => {
    let s = 0;
    for (let k = 0; k < L; k++) s += a[i * L + k] * b[j * L + k];
    return s;
  };
  const records: ImpressionRecord[] = [];
  let id = 0;
  for (let d = 0; d < days; d++) {
    for (let u = 0; u < nU; u++) {
      // Every 10th user is sparse: an impression only now and then.
      const count = u % 10 === 0 ? (rng.next() < 0.3 ? 1 : 0) : per;
      for (let c = 0; c < count; c++) {
        const p = rng.int(nP);
        const a = pinAdvertiser[p];
        const pClick = sigmoid(-1.5 + 0.9 * dot(users, u, pins, p));
        const pConvert = sigmoid(-0.5 + 1.0 * dot(users, u, advertisers, a));
        const click = rng.next() < pClick ? 1 : 0;
        const conversion = click && rng.next() < pConvert ? 1 : 0;
        records.push({
          eventId: `e${id++}`,
          ts: START + d * DAY + rng.int(DAY),
          userId: `u${u}`,
          pinId: `p${p}`,
          advertiserId: `a${a}`,
          category: `c${a % 4}`,
          surface: rng.next() < 0.5 ? 'home' : 'search',
          click: click as 0 | 1,
          conversion: conversion as 0 | 1,
          pClick,
          pConvert,
        });
      }
    }
  }
  return { records, latentDim: L, users, pins, advertisers, pinAdvertiser, nUsers: nU, nPins: nP, nAdvertisers: nA, days };
}

export async function writeWorld(dir: string, w: FixtureWorld, file = 'truth.jsonl'): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, file), w.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** Writes an EmbeddingExport (transr-shaped: identity projections) holding the latent vectors plus noise. */
export async function writeFixtureExport(dir: string, w: FixtureWorld, o: { windowTo: string | null; noise?: number; dim?: number; seed?: number }): Promise<void> {
  const d = o.dim ?? 8;
  const L = w.latentDim;
  const rng = new SeededRandom(o.seed ?? 5);
  const noise = o.noise ?? 0.3;
  const ids: string[] = [];
  const rows: number[] = [];
  const add = (type: string, name: string, src: Float32Array, i: number) => {
    ids.push(`${name}\t${type}`);
    for (let k = 0; k < d; k++) rows.push((k < L ? src[i * L + k] : 0) + rng.normal() * noise);
  };
  for (let u = 0; u < w.nUsers; u++) add('User', `u${u}`, w.users, u);
  for (let p = 0; p < w.nPins; p++) add('Pin', `p${p}`, w.pins, p);
  for (let a = 0; a < w.nAdvertisers; a++) add('Advertiser', `a${a}`, w.advertisers, a);
  const relations = ['CLICKED', 'CHECKOUT', 'PROMOTED_BY'];
  const proj = new Float32Array(relations.length * d * d);
  for (let r = 0; r < relations.length; r++) for (let i = 0; i < d; i++) proj[(r * d + i) * d + i] = 1;
  await fs.mkdir(dir, { recursive: true });
  await writeNpy(path.join(dir, 'entities.npy'), { dtype: 'float32', shape: [ids.length, d], data: Float32Array.from(rows) });
  await writeNpy(path.join(dir, 'relations.npy'), { dtype: 'float32', shape: [relations.length, d], data: new Float32Array(relations.length * d) });
  await writeNpy(path.join(dir, 'projections.npy'), { dtype: 'float32', shape: [relations.length, d, d], data: proj });
  await fs.writeFile(path.join(dir, 'entity_ids.tsv'), ids.join('\n') + '\n');
  await fs.writeFile(path.join(dir, 'relation_ids.tsv'), relations.join('\n') + '\n');
  const manifest: EmbeddingManifest = {
    format: EMBEDDING_FORMAT,
    model: 'transr',
    dim: d,
    relDim: d,
    entities: ids.length,
    relations: relations.length,
    window: { from: new Date(START).toISOString(), to: o.windowTo },
    data: { source: 'test-fixture' },
    metrics: {},
    version: 'fixture',
    created: new Date().toISOString(),
    files: {},
  };
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

/**
 * A graph snapshot for the fixture world: every third user is not opted in (no offsite edges); the
 * others have PAGE_VISIT to the advertisers of their clicks and CHECKOUT to those of their conversions,
 * from impressions before `windowTo`.
 */
export function fixtureGraph(w: FixtureWorld, windowTo: number): TripleSet {
  const relations = ['CHECKOUT', 'CLICKED', 'PAGE_VISIT'];
  const entities: EntityEntry[] = [];
  const index = new Map<string, number>();
  const ent = (type: string, id: string) => {
    const key = `${type}:${id}`;
    let i = index.get(key);
    if (i === undefined) (i = entities.length), index.set(key, i), entities.push({ type, id });
    return i;
  };
  const triples = new Map<string, [number, number, number]>();
  const add = (h: number, r: string, t: number) => triples.set(`${h},${r},${t}`, [h, relations.indexOf(r), t]);
  for (const r of w.records) {
    if (Number(r.ts) >= windowTo || r.click !== 1) continue;
    const u = ent('User', r.userId);
    add(u, 'CLICKED', ent('Pin', r.pinId));
    if (Number(r.userId.slice(1)) % 3 === 0) continue;
    add(u, 'PAGE_VISIT', ent('Advertiser', r.advertiserId));
    if (r.conversion === 1) add(u, 'CHECKOUT', ent('Advertiser', r.advertiserId));
  }
  const rows = [...triples.values()];
  const train = { heads: Int32Array.from(rows, (x) => x[0]), relations: Int32Array.from(rows, (x) => x[1]), tails: Int32Array.from(rows, (x) => x[2]) };
  const manifest = makeManifest('test-fixture', entities, relations, { train }, { from: null, to: new Date(windowTo).toISOString() });
  return { manifest, entities, relations, splits: { train } };
}
