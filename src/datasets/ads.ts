/**
 * Public ad logs (Ali-CCP, AliExpress samples as CSV) → events.jsonl in the event contract (DESIGN §2),
 * impressions.jsonl (ImpressionRecord with click and conversion labels) and manifest.json.
 *
 * Every row is one impression. A click adds an onsite click event; a conversion after a click adds an
 * offsite checkout carrying the pin (consent: true — these logs are the platform's own records). The
 * logs have no times, so times are made up deterministically: the files are laid end to end in split
 * order (train, then validation, then test) over `days` days from `start`, rows evenly spaced, so a
 * time split reproduces the published split.
 */
import { createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
import { parse } from 'csv-parse/sync';
import { ImpressionRecord } from '../common/impression';
import { assertOutputFolder } from '../common/output-folder';
import { DatasetFormatError, DatasetSourceError } from './errors';
import { SourceFile, readSourceFiles } from './source-files';

export const ADS_DATASETS = ['ali-ccp', 'aliexpress'] as const;
export type AdsDatasetName = (typeof ADS_DATASETS)[number];

type Row = Record<string, string>;

interface AdsMapping {
  clickColumn: string;
  conversionColumn: string;
  /** Columns that must be present. */
  required: string[];
  user: (r: Row) => string;
  /** The item's identity before pins are assigned (an item seen with several shops/categories becomes several pins). */
  itemKey: (r: Row) => string;
  category: (r: Row) => string;
  advertiser: (r: Row) => string;
  surface?: (r: Row) => string;
  /** Text for the manifest: which column became what. */
  describe: Record<string, string>;
}

export interface AdsImportOptions {
  /** ISO date (UTC) of day 0; default 2026-01-01. */
  start?: string;
  /** Days the files are spread over; default 14. */
  days?: number;
  /** Ali-CCP: which column becomes the advertiser; default shop. */
  advertiser?: 'shop' | 'brand';
}

function mappingFor(name: AdsDatasetName, advertiser: 'shop' | 'brand'): AdsMapping {
  if (name === 'ali-ccp') {
    // Ali-CCP field ids (Ma et al., ESMM 2018): 101 user, 205 item, 206 item category, 207 shop, 216 brand, 301 position.
    const advCol = advertiser === 'shop' ? '207' : '216';
    return {
      clickColumn: 'click',
      conversionColumn: 'purchase',
      required: ['click', 'purchase', '101', '205', '206', '207', '216', '301'],
      user: (r) => 'u' + r['101'],
      itemKey: (r) => r['205'],
      category: (r) => 'c' + r['206'],
      advertiser: (r) => 'a' + r[advCol],
      surface: (r) => 'position_' + r['301'],
      describe: {
        userId: '"u" + column 101 (user id)',
        pinId: '"p" + column 205 (item id); an item seen with several (shop/brand, category) pairs is split into pins "p<item>", "p<item>.1", … in order of appearance',
        category: '"c" + column 206 (item category id)',
        advertiserId: advertiser === 'shop' ? '"a" + column 207 (shop id)' : '"a" + column 216 (brand id)',
        surface: '"position_" + column 301 (position)',
        productId: '"prod" + pinId without its "p" (the item bought)',
        click: 'column click',
        conversion: 'column purchase, counted only after a click',
      },
    };
  }
  // AliExpress columns are anonymous: search_id, categorical_1..16, numerical_1..63, click, conversion.
  const itemCols = Array.from({ length: 10 }, (_, i) => `categorical_${i + 7}`);
  return {
    clickColumn: 'click',
    conversionColumn: 'conversion',
    required: ['search_id', 'click', 'conversion', ...itemCols],
    user: (r) => 'u' + r.search_id,
    itemKey: (r) => itemCols.map((c) => r[c]).join('|'),
    category: (r) => 'c' + r.categorical_7,
    advertiser: (r) => 'a' + r.categorical_8,
    describe: {
      userId: '"u" + search_id (the logs have no user id; a search session stands in for its user)',
      pinId: '"p" + index, by first appearance, of the distinct tuple categorical_7..categorical_16 (item-side features)',
      category: '"c" + categorical_7 (the most varied item-side column)',
      advertiserId: '"a" + categorical_8 (a convention: the columns are anonymous)',
      productId: '"prod" + pinId without its "p"',
      click: 'column click',
      conversion: 'column conversion, counted only after a click',
    },
  };
}

const SPLIT_ORDER = ['train', 'val', 'test'] as const;

/** Which split a CSV file belongs to, from its name. */
function splitOf(name: string): (typeof SPLIT_ORDER)[number] | null {
  const n = name.toLowerCase();
  if (/(^|[^a-z])train/.test(n)) return 'train';
  if (/(^|[^a-z])(val|valid|validation|dev)([^a-z]|$)/.test(n)) return 'val';
  if (/(^|[^a-z])test/.test(n)) return 'test';
  return null;
}

export const ADS_EVENTS_FORMAT = 'adkg.dataset-events';

export interface AdsManifest {
  format: typeof ADS_EVENTS_FORMAT;
  dataset: AdsDatasetName;
  source: string;
  start: string;
  days: number;
  end: string;
  files: { file: string; split: string; rows: number; from: string; to: string }[];
  mapping: Record<string, string>;
  counts: {
    rows: number;
    users: number;
    pins: number;
    advertisers: number;
    categories: number;
    splitItems: number;
    catalog: { advertiser: number; pin: number };
    onsite: { impression: number; click: number };
    offsite: { checkout: number };
    /** Rows with a conversion but no click: kept as impressions, conversion label 0. */
    conversionsWithoutClick: number;
  };
  realised: { ctr: number; cvr: number };
  eventsFile: string;
  impressionsFile: string;
}

interface ParsedRow {
  split: string;
  user: string;
  pin: string;
  category: string;
  advertiser: string;
  surface?: string;
  click: 0 | 1;
  conversion: 0 | 1;
  rawConversion: 0 | 1;
}

function label(file: SourceFile, line: number, column: string, v: string | undefined): 0 | 1 {
  const t = (v ?? '').trim();
  if (t === '0' || t === '0.0') return 0;
  if (t === '1' || t === '1.0') return 1;
  throw new DatasetFormatError(file.display, line, `column ${column} must be 0 or 1, got ${JSON.stringify(v)}`);
}

/** Imports an ads dataset (folder or archive with *train*.csv, *val*.csv, *test*.csv) into `outDir`. */
export async function importAdsDataset(name: AdsDatasetName, src: string, outDir: string, opts: AdsImportOptions = {}): Promise<AdsManifest> {
  const start = opts.start ?? '2026-01-01';
  const days = opts.days ?? 14;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(start + 'T00:00:00Z'))) throw new DatasetSourceError(`start must be an ISO date YYYY-MM-DD, got "${start}"`);
  if (!Number.isInteger(days) || days < 1) throw new DatasetSourceError(`days must be an integer ≥ 1, got ${days}`);
  await assertOutputFolder(outDir, ADS_EVENTS_FORMAT); // before the CSVs are read: an --out holding another artefact is refused at once
  const mapping = mappingFor(name, opts.advertiser ?? 'shop');
  const files = await readSourceFiles(src, (n) => /\.csv$/i.test(n) && splitOf(n) !== null);
  const ordered = [...files.values()].sort((a, b) => SPLIT_ORDER.indexOf(splitOf(a.name)!) - SPLIT_ORDER.indexOf(splitOf(b.name)!) || (a.name < b.name ? -1 : 1));
  if (!ordered.some((f) => splitOf(f.name) === 'train')) throw new DatasetSourceError(`${src}: no *train*.csv file found`);

  // Read every row first: catalog lines go first, and pins need every item's (advertiser, category) pairs.
  const rows: ParsedRow[] = [];
  const perFile: { file: SourceFile; split: string; rows: number }[] = [];
  const pinOf = new Map<string, string>(); // itemKey + advertiser + category → pinId
  const variants = new Map<string, number>(); // itemKey → pins made from it
  const pinIndex = new Map<string, number>(); // aliexpress: itemKey → index
  let splitItems = 0;
  for (const file of ordered) {
    const split = splitOf(file.name)!;
    const header = new Set(file.text.replace(/^\uFEFF/, '').split('\n', 1)[0].split(',').map((c) => c.trim()));
    const missing = mapping.required.filter((c) => !header.has(c));
    if (missing.length > 0) throw new DatasetFormatError(file.display, 1, `missing column(s) ${missing.join(', ')} for ${name}`);
    let records: { record: Row; info: { lines: number } }[];
    try {
      // info.lines is the line a record ends on, so errors point at the real line even after blank lines.
      records = parse(file.text, { columns: true, skip_empty_lines: true, trim: true, bom: true, info: true }) as { record: Row; info: { lines: number } }[];
    } catch (e) {
      const err = e as { lines?: number; message: string };
      throw new DatasetFormatError(file.display, err.lines ?? null, `not valid CSV: ${err.message}`);
    }
    records.forEach(({ record: r, info }) => {
      const line = info.lines;
      for (const c of mapping.required) if (r[c] === undefined || r[c] === '') throw new DatasetFormatError(file.display, line, `column ${c} is empty`);
      const click = label(file, line, mapping.clickColumn, r[mapping.clickColumn]);
      const rawConversion = label(file, line, mapping.conversionColumn, r[mapping.conversionColumn]);
      const item = mapping.itemKey(r), advertiser = mapping.advertiser(r), category = mapping.category(r);
      const key = item + '\u0000' + advertiser + '\u0000' + category;
      let pin = pinOf.get(key);
      if (pin === undefined) {
        let base: string;
        if (name === 'aliexpress') {
          let idx = pinIndex.get(item);
          if (idx === undefined) pinIndex.set(item, (idx = pinIndex.size));
          base = 'p' + idx;
        } else base = 'p' + item;
        const n = variants.get(item) ?? 0;
        variants.set(item, n + 1);
        if (n > 0) splitItems++;
        pin = n === 0 ? base : `${base}.${n}`;
        pinOf.set(key, pin);
      }
      rows.push({ split, user: mapping.user(r), pin, category, advertiser, surface: mapping.surface?.(r), click, conversion: (click & rawConversion) as 0 | 1, rawConversion });
    });
    perFile.push({ file, split, rows: records.length });
  }

  await fs.mkdir(outDir, { recursive: true });
  const startMs = Date.parse(start + 'T00:00:00Z');
  const spacing = (days * 86_400_000) / Math.max(1, rows.length);
  const tsOf = (k: number) => startMs + Math.floor((k + 0.25) * spacing);
  const iso = (ms: number) => new Date(ms).toISOString();
  // Follow-up events come a little after their impression, well before the next row.
  const clickDelay = Math.max(1, Math.floor(spacing * 0.1)), checkoutDelay = Math.max(2, Math.floor(spacing * 0.5));

  const eventsFile = path.join(outDir, 'events.jsonl'), impressionsFile = path.join(outDir, 'impressions.jsonl');
  const ev: string[] = [], imp: string[] = [];
  const advertisers = new Set<string>(), pins = new Map<string, { advertiser: string; category: string }>();
  for (const r of rows) {
    advertisers.add(r.advertiser);
    if (!pins.has(r.pin)) pins.set(r.pin, { advertiser: r.advertiser, category: r.category });
  }
  for (const a of advertisers) ev.push(JSON.stringify({ kind: 'advertiser', advertiserId: a }));
  for (const [p, v] of pins) ev.push(JSON.stringify({ kind: 'pin', pinId: p, advertiserId: v.advertiser, category: v.category }));
  let clicks = 0, conversions = 0, conversionsWithoutClick = 0;
  const rowCounter = new Map<string, number>();
  rows.forEach((r, k) => {
    const n = rowCounter.get(r.split) ?? 0;
    rowCounter.set(r.split, n + 1);
    const id = `${name}-${r.split}-${n}`;
    const ts = tsOf(k);
    const surface = r.surface !== undefined ? { surface: r.surface } : {};
    ev.push(JSON.stringify({ eventId: `${id}-impression`, ts: iso(ts), kind: 'onsite', userId: r.user, pinId: r.pin, advertiserId: r.advertiser, action: 'impression', ...surface }));
    if (r.click) {
      clicks++;
      ev.push(JSON.stringify({ eventId: `${id}-click`, ts: iso(ts + clickDelay), kind: 'onsite', userId: r.user, pinId: r.pin, advertiserId: r.advertiser, action: 'click', ...surface }));
    }
    if (r.conversion) {
      conversions++;
      ev.push(JSON.stringify({ eventId: `${id}-checkout`, ts: iso(ts + checkoutDelay), kind: 'offsite', userId: r.user, advertiserId: r.advertiser, action: 'checkout', productId: 'prod' + r.pin.slice(1), pinId: r.pin, consent: true }));
    } else if (r.rawConversion) conversionsWithoutClick++;
    const rec: ImpressionRecord = { eventId: `${id}-impression`, ts, userId: r.user, pinId: r.pin, advertiserId: r.advertiser, category: r.category, ...surface, click: r.click, conversion: r.conversion };
    imp.push(JSON.stringify(rec));
  });
  await writeLines(eventsFile, ev);
  await writeLines(impressionsFile, imp);

  let offset = 0;
  const fileInfo = perFile.map((f) => {
    const from = f.rows > 0 ? iso(tsOf(offset)) : iso(startMs + offset * spacing);
    const to = f.rows > 0 ? iso(tsOf(offset + f.rows - 1)) : from;
    offset += f.rows;
    return { file: f.file.display, split: f.split, rows: f.rows, from, to };
  });
  const manifest: AdsManifest = {
    format: ADS_EVENTS_FORMAT,
    dataset: name,
    source: src,
    start,
    days,
    end: iso(startMs + days * 86_400_000),
    files: fileInfo,
    mapping: mapping.describe,
    counts: {
      rows: rows.length,
      users: new Set(rows.map((r) => r.user)).size,
      pins: pins.size,
      advertisers: advertisers.size,
      categories: new Set(rows.map((r) => r.category)).size,
      splitItems,
      catalog: { advertiser: advertisers.size, pin: pins.size },
      onsite: { impression: rows.length, click: clicks },
      offsite: { checkout: conversions },
      conversionsWithoutClick,
    },
    realised: { ctr: rows.length > 0 ? clicks / rows.length : 0, cvr: clicks > 0 ? conversions / clicks : 0 },
    eventsFile: 'events.jsonl',
    impressionsFile: 'impressions.jsonl',
  };
  await fs.writeFile(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

async function writeLines(file: string, lines: string[]): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < lines.length; i += 10_000) {
    if (!out.write(lines.slice(i, i + 10_000).join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}
