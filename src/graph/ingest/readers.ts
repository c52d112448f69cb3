/**
 * Streaming readers for event files: JSONL (one JSON object a line) and CSV (a header row naming the
 * event fields). Both yield one record at a time with its line number, so memory stays flat whatever
 * the file size. checkInputFile looks at the start of a file before anything is read from it for real: a
 * compressed or Parquet file, or a CSV without a header row, is refused up front.
 */
import { createReadStream, promises as fs, ReadStream } from 'fs';
import * as readline from 'readline';
import { CastingContext, CsvError, parse, Options as CsvOptions } from 'csv-parse';
import { InputFileError } from '../errors';

export type InputFormat = 'jsonl' | 'csv';

export type InputRecord =
  | { line: number; value: unknown }
  | { line: number; field: string; reason: string };

/** How far a reader has got, for progress bars. */
export interface ReadPosition {
  bytesRead: number;
}

/** A file that cannot be read on from `line` (the line its bad record starts on): the records before it were yielded. */
export class InputReadError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`line ${line}: ${reason}`, options);
    this.name = 'InputReadError';
  }
}

export function formatOf(file: string): InputFormat {
  return /\.csv$/i.test(file) ? 'csv' : 'jsonl';
}

function open(file: string, position: ReadPosition): ReadStream {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const base = position.bytesRead;
  stream.on('data', () => {
    position.bytesRead = base + stream.bytesRead;
  });
  return stream;
}

/** Binary formats people hand to ingest by mistake, by their first bytes; neither reader can make sense of them. */
const BINARY_FORMATS: { magic: number[]; what: string }[] = [
  { magic: [0x1f, 0x8b], what: 'is gzip-compressed: decompress it first (gunzip -k FILE), then ingest the .jsonl or .csv' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'is zstd-compressed: decompress it first (zstd -d FILE), then ingest the .jsonl or .csv' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'is xz-compressed: decompress it first (xz -dk FILE), then ingest the .jsonl or .csv' },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'is a zip archive: extract it first, then ingest the .jsonl or .csv files in it' },
  { magic: [0x50, 0x41, 0x52, 0x31], what: 'is a Parquet file: Parquet is not supported yet; convert it to JSONL or CSV (with a header row) first' },
];

/** The event fields a CSV header row may name (DESIGN §2); `kind` it must. */
const CONTRACT_FIELDS = ['kind', 'eventId', 'ts', 'userId', 'pinId', 'advertiserId', 'action', 'surface', 'productId', 'value', 'currency', 'consent', 'category', 'vertical'];

/** Why a CSV's first row is not a header naming the event fields, or null when it is one. */
export function csvHeaderProblem(header: string[]): string | null {
  if (header.includes('kind')) return null;
  const shown = `(${header
    .slice(0, 6)
    .map((h) => JSON.stringify(h.length > 30 ? `${h.slice(0, 30)}…` : h))
    .join(', ')}${header.length > 6 ? ', …' : ''})`;
  const caseHint = header.find((h) => h.toLowerCase() === 'kind');
  if (caseHint !== undefined) return `the header row ${shown} has no "kind" column (it has ${JSON.stringify(caseHint)}; field names are case-sensitive)`;
  if (header.some((h) => CONTRACT_FIELDS.includes(h))) return `the header row ${shown} has no "kind" column, which every record needs (onsite, offsite, pin or advertiser)`;
  return (
    `the first row ${shown} is not a header: it names none of the event fields (${CONTRACT_FIELDS.join(', ')}); ` +
    `a CSV file needs a header row naming its columns, e.g. ${CONTRACT_FIELDS.slice(0, 7).join(',')}`
  );
}

const CSV_OPTIONS: CsvOptions = { bom: true, relax_column_count: true, skip_empty_lines: true };

/**
 * Refuses, before anything of it is read for real, a file that is gzip/zstd/xz/zip-compressed or Parquet (by its
 * first bytes), and a CSV file whose first row is not a header naming the event fields.
 */
export async function checkInputFile(file: string): Promise<void> {
  const fh = await fs.open(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  for (const { magic, what } of BINARY_FORMATS) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) throw new InputFileError(file, what);
  }
  if (formatOf(file) !== 'csv') return;
  const stream = createReadStream(file);
  const parser = stream.pipe(parse({ ...CSV_OPTIONS, to: 1 }));
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const problem = csvHeaderProblem(record.map((h) => h.trim()));
      if (problem !== null) throw new InputFileError(file, problem);
      return;
    }
  } catch (e) {
    if (e instanceof CsvError) throw new InputFileError(file, `the header row cannot be read: ${e.message}`, { cause: e });
    throw e;
  } finally {
    stream.destroy();
  }
}

export async function* readJsonl(file: string, position: ReadPosition = { bytesRead: 0 }): AsyncGenerator<InputRecord> {
  const stream = open(file, position);
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (let text of lines) {
      line++;
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.trim() === '') continue;
      try {
        yield { line, value: JSON.parse(text) };
      } catch (e) {
        yield { line, field: '(line)', reason: `not valid JSON: ${(e as Error).message}` };
      }
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

const NUMERIC_FIELDS = new Set(['value']);
const BOOLEAN_FIELDS = new Set(['consent']);

/** CSV cells are strings: empty cells mean "absent", and numeric and boolean fields get their JSON types back. */
function cell(field: string, text: string): unknown {
  if (NUMERIC_FIELDS.has(field) && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text)) return Number(text);
  if (BOOLEAN_FIELDS.has(field) && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/**
 * Line numbers of byte offsets, counted as the bytes stream past: a line break is \n, \r\n or a lone \r (what
 * csv-parse accepts as a record delimiter). Offsets must be asked for in increasing order; the chunks already
 * passed are let go, so memory stays flat. (csv-parse's own `info.lines` counts a \r\n inside a quoted cell
 * twice, and is the line the parser has reached, not the one a record starts on.)
 */
class LineCounter {
  private chunks: Buffer[] = [];
  /** file offset of chunks[0][0] */
  private base = 0;
  /** offset of the next byte to count, its index in chunks[0], and the line that byte is on */
  private pos = 0;
  private index = 0;
  private line = 1;
  private prevCR = false;

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  /** Counts the bytes up to `offset`, then goes past line breaks: the line of the first other byte (or the last line read). */
  lineOfNextRecord(offset: number): number {
    for (;;) {
      const chunk = this.chunks[0];
      if (chunk === undefined) return this.line;
      if (this.index >= chunk.length) {
        this.base += chunk.length;
        this.chunks.shift();
        this.index = 0;
        continue;
      }
      const b = chunk[this.index];
      const isBreak = b === 0x0a || b === 0x0d;
      if (this.pos >= offset && !isBreak) return this.line;
      if (b === 0x0d || (b === 0x0a && !this.prevCR)) this.line++;
      this.prevCR = b === 0x0d;
      this.index++;
      this.pos++;
    }
  }
}

function csvErrorReason(e: unknown): string {
  if (e instanceof CsvError && e.code === 'CSV_QUOTE_NOT_CLOSED') {
    return 'unclosed quote: a cell of the record that starts on this line opens a quote that is never closed (the parser read on to the end of the file looking for it)';
  }
  return (e as Error).message;
}

/**
 * CSV rows as records, each with the line it starts on (a quoted cell may span lines). A row that cannot be parsed
 * (an unclosed quote) ends the file with an InputReadError naming the line its record starts on, after every record
 * before it has been yielded.
 */
export async function* readCsv(file: string, position: ReadPosition = { bytesRead: 0 }): AsyncGenerator<InputRecord> {
  // The parser is fed by hand and hands each record over as it parses it (on_record), not through its stream
  // output: a stream that errors drops the records still buffered in it, and those are the rows before the bad one.
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const base = position.bytesRead;
  const parsed: { record: string[]; end: number }[] = [];
  const parser = parse({
    ...CSV_OPTIONS,
    // `bytes` (the offset just past the record and its line break) is in the context, though not in the typings
    on_record: (record: string[], context: CastingContext) => {
      parsed.push({ record, end: (context as unknown as { bytes: number }).bytes });
      return null;
    },
  });
  let parseError: unknown = null;
  parser.on('error', (e) => (parseError ??= e));
  parser.resume(); // nothing comes out (on_record keeps every record), but the stream must flow to finish
  const feed = (chunk: Buffer | null) =>
    new Promise<void>((resolve) => {
      const done = () => resolve();
      parser.once('error', done);
      const cb = () => {
        parser.off('error', done);
        resolve();
      };
      if (chunk === null) parser.end(cb);
      else parser.write(chunk, cb);
    });
  const lines = new LineCounter();
  let recordStart = 1; // the line the next record starts on
  let header: string[] | null = null;
  let bytes = 0;

  function* drain(): Generator<InputRecord> {
    for (const { record, end } of parsed.splice(0)) {
      const line = recordStart;
      recordStart = lines.lineOfNextRecord(end);
      if (header === null) {
        header = record.map((h) => h.trim());
        const problem = csvHeaderProblem(header);
        if (problem !== null) throw new InputReadError(line, problem);
        continue;
      }
      if (record.length !== header.length) {
        yield { line, field: '(row)', reason: `has ${record.length} fields, the header has ${header.length}` };
        continue;
      }
      const value: Record<string, unknown> = {};
      for (let i = 0; i < header.length; i++) {
        const text = record[i];
        if (text !== '') value[header[i]] = cell(header[i], text);
      }
      yield { line, value };
    }
  }

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      position.bytesRead = base + bytes;
      lines.add(chunk);
      await feed(chunk);
      yield* drain();
      if (parseError !== null) break;
    }
    if (parseError === null) {
      await feed(null);
      yield* drain();
    }
    if (parseError !== null) throw new InputReadError(recordStart, csvErrorReason(parseError), { cause: parseError });
  } finally {
    stream.destroy();
    parser.destroy();
  }
}

export function readRecords(file: string, position?: ReadPosition): AsyncGenerator<InputRecord> {
  return formatOf(file) === 'csv' ? readCsv(file, position) : readJsonl(file, position);
}
