/**
 * Streaming readers for event files: JSONL (one JSON object a line) and CSV (a header row naming the
 * event fields). Both yield one record at a time with its line number, so memory stays flat whatever
 * the file size.
 */
import { createReadStream, ReadStream } from 'fs';
import * as readline from 'readline';
import { parse } from 'csv-parse';

export type InputFormat = 'jsonl' | 'csv';

export type InputRecord =
  | { line: number; value: unknown }
  | { line: number; field: string; reason: string };

/** How far a reader has got, for progress bars. */
export interface ReadPosition {
  bytesRead: number;
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

export async function* readJsonl(file: string, position: ReadPosition = { bytesRead: 0 }): AsyncGenerator<InputRecord> {
  const lines = readline.createInterface({ input: open(file, position), crlfDelay: Infinity });
  let line = 0;
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
}

const NUMERIC_FIELDS = new Set(['value']);
const BOOLEAN_FIELDS = new Set(['consent']);

/** CSV cells are strings: empty cells mean "absent", and numeric and boolean fields get their JSON types back. */
function cell(field: string, text: string): unknown {
  if (NUMERIC_FIELDS.has(field) && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text)) return Number(text);
  if (BOOLEAN_FIELDS.has(field) && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

export async function* readCsv(file: string, position: ReadPosition = { bytesRead: 0 }): AsyncGenerator<InputRecord> {
  const parser = open(file, position).pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }));
  let header: string[] | null = null;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const line = info.lines;
    if (header === null) {
      header = record.map((h) => h.trim());
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

export function readRecords(file: string, position?: ReadPosition): AsyncGenerator<InputRecord> {
  return formatOf(file) === 'csv' ? readCsv(file, position) : readJsonl(file, position);
}
