import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { classifyEvent } from '../src/graph/events';
import { ImpressionRecord } from '../src/common/impression';
import { AdsDatasetName, DatasetFormatError, importAdsDataset } from '../src/datasets';

const ADS = '/work/shared/datasets/ads';
const tmp = path.join(os.tmpdir(), `adkg-datasets-ads-${process.pid}`);

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function jsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);
}

/** The CSV rows of a split file, as column → value (the samples have no quoted fields). */
function csvRows(file: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], v])));
}

const CASES: [AdsDatasetName, string[], string, string][] = [
  ['ali-ccp', ['ali_ccp_train_sample.csv', 'ali_ccp_val_sample.csv', 'ali_ccp_test_sample.csv'], 'click', 'purchase'],
  ['aliexpress', ['aliexpress_train_sample.csv', 'aliexpress_test_sample.csv'], 'click', 'conversion'],
];

describe.each(CASES)('%s import', (name, files, clickCol, convCol) => {
  const out = path.join(tmp, name);
  let events: Record<string, unknown>[];
  let impressions: ImpressionRecord[];
  let rows: (Record<string, string> & { split: string })[];

  beforeAll(async () => {
    await importAdsDataset(name, path.join(ADS, name), out);
    events = jsonl(path.join(out, 'events.jsonl'));
    impressions = jsonl(path.join(out, 'impressions.jsonl'));
    rows = files.flatMap((f) => csvRows(path.join(ADS, name, f)).map((r) => ({ ...r, split: f })));
  });

  test('every event line is valid under the graph layer\'s contract; catalog first; unique ids; time order', () => {
    let catalogDone = false, lastTs = -Infinity;
    const ids = new Set<string>();
    const pinAdvertiser = new Map<string, string>();
    const problems: unknown[] = [];
    for (const e of events) {
      const c = classifyEvent(e);
      if (!['interaction', 'pin', 'advertiser'].includes(c.type)) problems.push({ e, c });
      if (e.kind === 'pin') pinAdvertiser.set(e.pinId as string, e.advertiserId as string);
      if (e.kind === 'pin' || e.kind === 'advertiser') {
        if (catalogDone) problems.push({ catalogLate: e });
        continue;
      }
      catalogDone = true;
      if (ids.has(e.eventId as string)) problems.push({ duplicate: e });
      ids.add(e.eventId as string);
      const ts = Date.parse(e.ts as string);
      if (!(ts >= lastTs)) problems.push({ order: e });
      lastTs = ts;
      if (e.kind === 'onsite' && pinAdvertiser.get(e.pinId as string) !== e.advertiserId) problems.push({ pinAdvertiser: e });
      if (e.kind === 'offsite' && !(e.consent === true && e.action === 'checkout' && e.pinId)) problems.push({ offsite: e });
    }
    expect(problems).toEqual([]);
    expect(ids.size).toBeGreaterThan(rows.length);
  });

  test('one impression per CSV row with its click and conversion labels; splits in time order', () => {
    expect(impressions.length).toBe(rows.length);
    const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(m.counts.rows).toBe(rows.length);
    impressions.forEach((imp, i) => {
      const r = rows[i];
      expect([imp.click, imp.conversion]).toEqual([Number(r[clickCol]), Number(r[clickCol]) * Number(r[convCol])]);
      expect(imp.pClick).toBeUndefined();
    });
    const clicks = impressions.filter((i) => i.click === 1).length;
    expect(clicks).toBeGreaterThan(0);
    expect(impressions.some((i) => i.conversion === 1)).toBe(true);
    expect(events.filter((e) => e.action === 'click').length).toBe(clicks);
    expect(events.filter((e) => e.action === 'checkout').length).toBe(impressions.filter((i) => i.conversion === 1).length);
    // Train rows come before the rows of later splits.
    const lastTrain = Math.max(...impressions.filter((_, i) => rows[i].split.includes('train')).map((i) => i.ts));
    const firstTest = Math.min(...impressions.filter((_, i) => rows[i].split.includes('test')).map((i) => i.ts));
    expect(lastTrain).toBeLessThan(firstTest);
    expect(m.files.map((f: { split: string }) => f.split)).toEqual(files.map((f) => (f.includes('train') ? 'train' : f.includes('val') ? 'val' : 'test')));
    // Each impression's event exists with the same ids and time; click and checkout follow it.
    const byId = new Map(events.filter((e) => e.eventId).map((e) => [e.eventId as string, e]));
    for (const imp of impressions) {
      const e = byId.get(imp.eventId)!;
      expect([e.action, e.userId, e.pinId, e.advertiserId, Date.parse(e.ts as string)]).toEqual(['impression', imp.userId, imp.pinId, imp.advertiserId, imp.ts]);
      const click = byId.get(imp.eventId.replace(/-impression$/, '-click'));
      expect(click !== undefined).toBe(imp.click === 1);
      if (click) expect(Date.parse(click.ts as string)).toBeGreaterThan(imp.ts);
      const checkout = byId.get(imp.eventId.replace(/-impression$/, '-checkout'));
      expect(checkout !== undefined).toBe(imp.conversion === 1);
      if (checkout) expect(Date.parse(checkout.ts as string)).toBeGreaterThan(Date.parse(click!.ts as string));
    }
  });

  test('the import is deterministic', async () => {
    const again = path.join(tmp, `${name}-again`);
    await importAdsDataset(name, path.join(ADS, name), again);
    for (const f of ['events.jsonl', 'impressions.jsonl', 'manifest.json']) {
      expect(readFileSync(path.join(again, f), 'utf8').replace(new RegExp(again, 'g'), out)).toBe(readFileSync(path.join(out, f), 'utf8'));
    }
  });
});

describe('ali-ccp mapping', () => {
  test('ids come from the documented columns; --advertiser brand maps brands instead of shops', async () => {
    const rows = csvRows(path.join(ADS, 'ali-ccp', 'ali_ccp_train_sample.csv'));
    const shop = path.join(tmp, 'ccp-shop'), brand = path.join(tmp, 'ccp-brand');
    await importAdsDataset('ali-ccp', path.join(ADS, 'ali-ccp'), shop, { days: 7, start: '2025-06-01' });
    await importAdsDataset('ali-ccp', path.join(ADS, 'ali-ccp'), brand, { advertiser: 'brand' });
    const a = jsonl<ImpressionRecord>(path.join(shop, 'impressions.jsonl'));
    const b = jsonl<ImpressionRecord>(path.join(brand, 'impressions.jsonl'));
    rows.forEach((r, i) => {
      expect(a[i].userId).toBe('u' + r['101']);
      expect(a[i].pinId.split('.')[0]).toBe('p' + r['205']);
      expect(a[i].category).toBe('c' + r['206']);
      expect(a[i].advertiserId).toBe('a' + r['207']);
      expect(b[i].advertiserId).toBe('a' + r['216']);
    });
    const all = [...a];
    expect(all[0].ts).toBeGreaterThanOrEqual(Date.parse('2025-06-01T00:00:00Z'));
    expect(all[all.length - 1].ts).toBeLessThan(Date.parse('2025-06-08T00:00:00Z'));
    // A pin has one advertiser and one category across all its impressions.
    const seen = new Map<string, string>();
    for (const r of a) {
      const v = `${r.advertiserId}|${r.category}`;
      expect(seen.get(r.pinId) ?? v).toBe(v);
      seen.set(r.pinId, v);
    }
  });
});

describe('malformed ads files', () => {
  const header = 'click,purchase,101,121,122,124,125,126,127,128,129,205,206,207,210,216,508,509,702,853,301';
  const row = (click: string) => `${click},0,1,1,1,1,1,0,1,1,1,5,6,7,1,3,0,0,0,0,1`;

  test('a label that is not 0/1 names file and line (blank lines counted)', async () => {
    const dir = path.join(tmp, 'bad-label');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'x_train.csv'), [header, row('0'), '', row('1'), row('2')].join('\n') + '\n');
    const err = await importAdsDataset('ali-ccp', dir, path.join(tmp, 'bad-out')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect((err as Error).message).toBe(`${path.join(dir, 'x_train.csv')}:5: column click must be 0 or 1, got "2"`);
  });

  test('a missing column and a short row are named', async () => {
    const dir = path.join(tmp, 'bad-cols');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'x_train.csv'), 'click,purchase,101\n0,0,1\n');
    await expect(importAdsDataset('ali-ccp', dir, path.join(tmp, 'bad-out'))).rejects.toThrow(`${path.join(dir, 'x_train.csv')}:1: missing column(s) 205, 206, 207, 216, 301 for ali-ccp`);
    await fs.writeFile(path.join(dir, 'x_train.csv'), [header, row('0'), '0,0,1'].join('\n') + '\n');
    await expect(importAdsDataset('ali-ccp', dir, path.join(tmp, 'bad-out'))).rejects.toThrow(new RegExp(`x_train\\.csv:3: not valid CSV`));
  });

  test('no train file', async () => {
    const dir = path.join(tmp, 'no-train');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'x_test.csv'), [header, row('0')].join('\n') + '\n');
    await expect(importAdsDataset('ali-ccp', dir, path.join(tmp, 'bad-out'))).rejects.toThrow(/no \*train\*\.csv/);
  });
});
