/**
 * Input errors in ingest: files that break off mid-way, CSV files without a header row, files none of whose records
 * is accepted, compressed and Parquet files. The ingest code is the same for every store; these run it on the memory
 * store (and the CLI on top of it).
 */
import { existsSync, promises as fs } from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { IngestFailedError, ingestFiles, IngestSummary, InputFileError, MemoryStore } from '../src/graph';
import { readCsv } from '../src/graph/ingest/readers';
import { FIXTURES, runCli, tmpDir } from './fixtures/graph/helpers';

const JSONL = path.join(FIXTURES, 'events.jsonl');
const CSV = path.join(FIXTURES, 'events.csv');

/** The eventIds in a memory store's file, sorted. */
async function storedEventIds(db: string): Promise<string[]> {
  if (!existsSync(db)) return [];
  const lines = (await fs.readFile(db, 'utf8')).trim().split('\n').slice(1);
  return lines
    .map((l) => JSON.parse(l) as unknown[])
    .filter((r) => r[0] === 'E')
    .map((r) => r[1] as string)
    .sort();
}

interface Outcome {
  summary: IngestSummary;
  error: IngestFailedError | InputFileError | null;
}

/** ingestFiles into the memory store at db, then closes it (keeping what was stored, as the CLI does). */
async function ingest(db: string, files: string[], options: { batchSize?: number; concurrency?: number } = {}): Promise<Outcome> {
  const store = await MemoryStore.open({ dbPath: db });
  try {
    return { summary: await ingestFiles(store, files, options), error: null };
  } catch (e) {
    if (e instanceof IngestFailedError) return { summary: e.summary, error: e };
    if (e instanceof InputFileError) return { summary: null as unknown as IngestSummary, error: e };
    throw e;
  } finally {
    await store.close();
  }
}

const HEADER = 'kind,eventId,ts,userId,pinId,advertiserId,action';
const row = (id: string, user: string, action = 'click') => `onsite,${id},2026-01-02T00:00:00Z,${user},p1,a1,${action}`;

/**
 * Valid rows c1 and c2, a blank line, a rejected row (line 5), then on line 6 a row whose quote is never closed, so
 * the parser swallows line 7 too and reports the end of the file.
 */
const BROKEN_CSV = [HEADER, row('c1', 'u1'), row('c2', 'u2', 'impression'), '', row('c0', 'u0', 'teleport'), 'onsite,c3,"2026-01-02T00:00:00Z,u3,p1,a1,click', row('c4', 'u4')].join('\n') + '\n';

describe('ingest: a file that breaks off mid-way', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('adkg-ingest-errors-');
  });

  test('the rows before an unclosed CSV quote are stored whatever the batch size and concurrency; exit 2 names the file and the line the bad record starts on', async () => {
    const file = path.join(dir, 'ok.csv');
    await fs.writeFile(file, BROKEN_CSV);
    for (const batchSize of [1, 2, 5000]) {
      for (const concurrency of [1, 3]) {
        const db = path.join(dir, `g-${batchSize}-${concurrency}.jsonl`);
        const { summary, error } = await ingest(db, [file], { batchSize, concurrency });
        expect(error).toBeInstanceOf(IngestFailedError);
        expect((error as IngestFailedError).exitCode).toBe(2);
        expect((error as IngestFailedError).cause).toBeInstanceOf(InputFileError);
        expect(error!.message).toContain(`${file}: line 6: unclosed quote`);
        expect(error!.message).not.toMatch(/line 7/);
        expect(error!.message).toContain('2 new event(s) were stored');
        expect(error!.message).toMatch(/re-run .* idempotent by eventId/);
        expect(summary).toMatchObject({ read: 3, stored: 2, rejected: 1, duplicates: 0 });
        expect(summary.rejects).toEqual([expect.objectContaining({ file, line: 5, field: 'action' })]);
        expect(await storedEventIds(db)).toEqual(['c1', 'c2']);
      }
    }
  });

  test('re-running the corrected file stores the rest and nothing twice', async () => {
    const file = path.join(dir, 'ok.csv');
    const db = path.join(dir, 'g.jsonl');
    await fs.writeFile(file, BROKEN_CSV);
    expect((await ingest(db, [file])).error).not.toBeNull();
    await fs.writeFile(file, BROKEN_CSV.replace('"2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z'));
    const again = await ingest(db, [file]);
    expect(again.error).toBeNull();
    expect(again.summary).toMatchObject({ read: 5, stored: 2, duplicates: 2, rejected: 1 });
    expect(await storedEventIds(db)).toEqual(['c1', 'c2', 'c3', 'c4']);
  });

  test('a parse error in the middle of a large chunk keeps every row before it (they were parsed but not yet taken)', async () => {
    const file = path.join(dir, 'mid.csv');
    const rows = Array.from({ length: 300 }, (_, i) => row(`m${i}`, `u${i % 7}`));
    rows.splice(200, 1, 'onsite,m200,2026-01-02T00:00:00Z,u"0,p1,a1,click'); // a quote inside an unquoted cell
    await fs.writeFile(file, [HEADER, ...rows].join('\n') + '\n');
    const db = path.join(dir, 'g.jsonl');
    const { summary, error } = await ingest(db, [file]);
    expect((error as IngestFailedError).exitCode).toBe(2);
    expect(error!.message).toContain(`${file}: line 202: `);
    expect(summary).toMatchObject({ read: 200, stored: 200 });
    expect((await storedEventIds(db)).length).toBe(200);
  });

  test('CSV records are numbered by the line they start on: CRLF, blank lines, cells spanning lines', async () => {
    const file = path.join(dir, 'crlf.csv');
    const lines = [
      HEADER, // 1
      row('e1', 'u1'), // 2
      '', // 3
      'onsite,e2,2026-01-02T00:00:00Z,u1,p1,"a\r\n1",click', // 4-5
      row('e3', 'u1', 'nope'), // 6
      '', // 7
      '', // 8
      'onsite,e4,"2026,u1,p1,a1,click', // 9: never closed
      row('e5', 'u1'), // 10
    ];
    await fs.writeFile(file, '\ufeff' + lines.join('\r\n') + '\r\n');
    const got: number[] = [];
    let error: unknown = null;
    try {
      for await (const r of readCsv(file)) got.push(r.line);
    } catch (e) {
      error = e;
    }
    expect(got).toEqual([2, 4, 6]);
    expect((error as Error).message).toMatch(/^line 9: unclosed quote/);
  });

  test('CLI: the default --batch and --batch 1 give the same outcome: exit 2, the line, the rows before it stored, the summary says so', async () => {
    const file = path.join(dir, 'ok.csv');
    await fs.writeFile(file, BROKEN_CSV);
    for (const extra of [[], ['--batch', '1']]) {
      const db = path.join(dir, `cli${extra.length}.jsonl`);
      const r = await runCli(['ingest', file, '--store', 'memory', '--db', db, ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('stored 2 new events');
      expect(r.stderr).toContain(`${file}: line 6: unclosed quote`);
      expect(r.stderr).toMatch(/idempotent by eventId/);
      expect(await storedEventIds(db)).toEqual(['c1', 'c2']);
    }
  }, 60000);

  test('a file that cannot be opened among several still means nothing is stored', async () => {
    const db = path.join(dir, 'g.jsonl');
    const { error } = await ingest(db, [JSONL, path.join(dir, 'nope.jsonl')]);
    expect(error).toBeInstanceOf(InputFileError);
    expect(error!.message).toContain('nope.jsonl');
    expect(existsSync(db)).toBe(false);
  });
});

describe('ingest: a CSV file without a header row', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('adkg-ingest-errors-');
  });

  test('is refused before anything is stored, naming the file and what the header lacks', async () => {
    const file = path.join(dir, 'noheader.csv');
    await fs.writeFile(file, (await fs.readFile(CSV, 'utf8')).split('\n').slice(1).join('\n'));
    const db = path.join(dir, 'g.jsonl');
    const { error } = await ingest(db, [JSONL, file]);
    expect(error).toBeInstanceOf(InputFileError);
    expect((error as InputFileError).exitCode).toBe(2);
    expect(error!.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the first row \\("advertiser", .*\\) is not a header`));
    expect(error!.message).toContain('header row naming its columns');
    expect(existsSync(db)).toBe(false); // not even the JSONL listed before it

    const noKind = path.join(dir, 'nokind.csv');
    await fs.writeFile(noKind, 'eventId,ts,userId,pinId,action\ne1,2026-01-01T00:00:00Z,u1,p1,click\n');
    expect((await ingest(db, [noKind])).error!.message).toMatch(/nokind\.csv: the header row \("eventId", "ts", "userId", "pinId", "action"\) has no "kind" column/);
    const upper = path.join(dir, 'upper.csv');
    await fs.writeFile(upper, 'Kind,eventId\nonsite,e1\n');
    expect((await ingest(db, [upper])).error!.message).toMatch(/has no "kind" column \(it has "Kind"; field names are case-sensitive\)/);
  });

  test('a header row alone is an empty file, not an error', async () => {
    const file = path.join(dir, 'header-only.csv');
    await fs.writeFile(file, HEADER + '\n');
    const { summary, error } = await ingest(path.join(dir, 'g.jsonl'), [file]);
    expect(error).toBeNull();
    expect(summary.read).toBe(0);
  });

  test('CLI: exit 2', async () => {
    const file = path.join(dir, 'noheader.csv');
    await fs.writeFile(file, row('c1', 'u1') + '\n' + row('c2', 'u2') + '\n');
    const r = await runCli(['ingest', file, '--store', 'memory', '--db', path.join(dir, 'g.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: the first row`);
  }, 60000);
});

describe('ingest: a file none of whose records is accepted', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('adkg-ingest-errors-');
  });

  /** What `adkg simulate` writes to truth.jsonl: no `kind`, so not one line is an event. */
  const TRUTH = [
    '{"eventId":"e0","ts":1767226473465,"userId":"u8","pinId":"p16","advertiserId":"a0","category":"c6","surface":"home_feed","click":0,"conversion":0,"pClick":0.07,"pConvert":0.2}',
    '{"eventId":"e1","ts":1767226485117,"userId":"u8","pinId":"p11","advertiserId":"a0","category":"c6","surface":"search","click":1,"conversion":0,"pClick":0.1,"pConvert":0.2}',
    '',
    '{"eventId":"e2","ts":1767226485118,"userId":"u9","pinId":"p11","advertiserId":"a0","category":"c6","surface":"search","click":0,"conversion":0,"pClick":0.1,"pConvert":0.2}',
  ].join('\n');

  test('fails with exit 2 naming the file, after the other files have been ingested', async () => {
    const truth = path.join(dir, 'truth.jsonl');
    await fs.writeFile(truth, TRUTH + '\n');
    const db = path.join(dir, 'g.jsonl');
    const { summary, error } = await ingest(db, [truth, JSONL]);
    expect(error).toBeInstanceOf(IngestFailedError);
    expect((error as IngestFailedError).exitCode).toBe(2);
    expect(error!.message).toContain(`${truth}: none of its 3 record(s) was accepted`);
    expect(error!.message).toContain('line 1: kind: must be one of');
    expect(error!.message).not.toContain(JSONL);
    expect(summary).toMatchObject({ read: 22, stored: 8, rejected: 6 });
    expect((await storedEventIds(db)).length).toBe(8);
  });

  test('a JSONL line that is not JSON is no better: a gzip file renamed .jsonl is refused by its first bytes', async () => {
    const file = path.join(dir, 'events.jsonl');
    await fs.writeFile(file, gzipSync(await fs.readFile(JSONL)));
    const bin = path.join(dir, 'garbage.jsonl');
    await fs.writeFile(bin, Buffer.from([0x00, 0x01, 0x02, 0x0a, 0x03, 0x04, 0x0a]));
    const db = path.join(dir, 'g.jsonl');
    const gz = await ingest(db, [file]);
    expect(gz.error!.message).toBe(`${file}: is gzip-compressed: decompress it first (gunzip -k FILE), then ingest the .jsonl or .csv`);
    const garbage = await ingest(db, [bin]);
    expect((garbage.error as IngestFailedError).exitCode).toBe(2);
    expect(garbage.error!.message).toContain(`${bin}: none of its 2 record(s) was accepted`);
  });

  test('duplicates, events without consent and catalog records count as accepted: re-running a file still succeeds', async () => {
    const db = path.join(dir, 'g.jsonl');
    expect((await ingest(db, [JSONL])).error).toBeNull();
    const again = await ingest(db, [JSONL, CSV]);
    expect(again.error).toBeNull();
    expect(again.summary.stored).toBe(0);
    const noConsent = path.join(dir, 'no-consent.jsonl');
    await fs.writeFile(
      noConsent,
      '{"eventId":"z1","ts":"2026-01-01T00:00:00Z","kind":"offsite","userId":"u1","advertiserId":"a1","action":"checkout","consent":false}\nnot json\n',
    );
    const nc = await ingest(db, [noConsent]);
    expect(nc.error).toBeNull();
    expect(nc.summary).toMatchObject({ droppedNoConsent: 1, rejected: 1 });
    const blank = path.join(dir, 'blank.jsonl');
    await fs.writeFile(blank, '\n\n');
    expect((await ingest(db, [blank])).error).toBeNull();
  });

  test('CLI: exit 2 naming the file; a re-run of a good file exits 0', async () => {
    const truth = path.join(dir, 'truth.jsonl');
    await fs.writeFile(truth, TRUTH + '\n');
    const db = path.join(dir, 'g.jsonl');
    const bad = await runCli(['ingest', truth, '--store', 'memory', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${truth}: none of its 3 record(s) was accepted`);
    expect((await runCli(['ingest', JSONL, '--store', 'memory', '--db', db])).code).toBe(0);
    expect((await runCli(['ingest', JSONL, '--store', 'memory', '--db', db])).code).toBe(0);
  }, 60000);
});

describe('ingest: compressed and Parquet files', () => {
  let dir: string;
  beforeEach(() => {
    dir = tmpDir('adkg-ingest-errors-');
  });

  test('are recognised by their first bytes and refused before anything is stored', async () => {
    const gz = path.join(dir, 'events.jsonl.gz');
    await fs.writeFile(gz, gzipSync(await fs.readFile(JSONL)));
    const gzCsv = path.join(dir, 'events.csv');
    await fs.writeFile(gzCsv, gzipSync(await fs.readFile(CSV)));
    const parquet = path.join(dir, 'events.parquet');
    await fs.writeFile(parquet, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(32, 7), Buffer.from('PAR1')]));
    const db = path.join(dir, 'g.jsonl');
    for (const [file, expected] of [
      [gz, 'is gzip-compressed: decompress it first'],
      [gzCsv, 'is gzip-compressed: decompress it first'],
      [parquet, 'Parquet is not supported yet; convert it to JSONL or CSV'],
    ]) {
      const { error } = await ingest(db, [JSONL, file]);
      expect(error).toBeInstanceOf(InputFileError);
      expect((error as InputFileError).exitCode).toBe(2);
      expect(error!.message).toContain(`${file}: `);
      expect(error!.message).toContain(expected);
      expect(existsSync(db)).toBe(false);
    }
  });

  test('CLI: exit 2 with the reason', async () => {
    const gz = path.join(dir, 'events.jsonl.gz');
    await fs.writeFile(gz, gzipSync(await fs.readFile(JSONL)));
    const db = path.join(dir, 'g.jsonl');
    const r = await runCli(['ingest', JSONL, gz, '--store', 'memory', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${gz}: is gzip-compressed: decompress it first`);
    expect(existsSync(db)).toBe(false);
  }, 60000);
});
