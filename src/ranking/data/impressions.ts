/**
 * Impressions for ranking, read from `truth.jsonl` (simulator, with true pClick/pConvert) or
 * `impressions.jsonl` (dataset loaders): ImpressionRecord lines (src/common/impression.ts), held
 * column-wise with ids interned, sorted by time.
 */
import { createReadStream, promises as fs } from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { ImpressionRecord } from '../../common/impression';
import { RankingInputError } from './ranking-input-error';

/** Interned string ids: `ids[k]` is the id with code k. */
export class Vocabulary {
  readonly ids: string[] = [];
  private readonly codes = new Map<string, number>();
  code(id: string): number {
    let c = this.codes.get(id);
    if (c === undefined) {
      c = this.ids.length;
      this.codes.set(id, c);
      this.ids.push(id);
    }
    return c;
  }
  get size(): number {
    return this.ids.length;
  }
}

export interface ImpressionColumns {
  source: string;
  n: number;
  ts: Float64Array;
  user: Int32Array;
  pin: Int32Array;
  advertiser: Int32Array;
  /** -1 when the record has no category */
  category: Int32Array;
  surface: Int32Array;
  click: Uint8Array;
  conversion: Uint8Array;
  /** Present only when every record carries it (simulator truth). */
  pClick: Float32Array | null;
  pConvert: Float32Array | null;
  users: Vocabulary;
  pins: Vocabulary;
  advertisers: Vocabulary;
  categories: Vocabulary;
  surfaces: Vocabulary;
}

const DATA_KINDS = 'an `adkg simulate --out` folder, an `adkg dataset import --out` folder, or a .jsonl file of impressions';

/**
 * Finds the impressions file in a directory (truth.jsonl preferred: it has the oracle probabilities). A path that does
 * not exist, or a folder with neither file, is a RankingInputError (exit 2).
 */
export async function findImpressionsFile(dataPath: string): Promise<string> {
  const st = await fs.stat(dataPath).catch(() => null);
  if (!st) throw new RankingInputError(dataPath, `--data ${dataPath} does not exist (expected ${DATA_KINDS})`);
  if (st.isFile()) return dataPath;
  for (const name of ['truth.jsonl', 'impressions.jsonl']) {
    const f = path.join(dataPath, name);
    if (await fs.stat(f).then((s) => s.isFile(), () => false)) return f;
  }
  throw new RankingInputError(dataPath, `--data ${dataPath} has neither truth.jsonl (simulator) nor impressions.jsonl (dataset import)`);
}

function parseTs(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw new Error(`${where}: ts ${JSON.stringify(v)} is neither epoch milliseconds nor ISO-8601`);
}

/** Builds columns from records in memory (tests, and the simulator's exported functions). */
export function impressionColumns(records: Iterable<ImpressionRecord>, source = 'memory'): ImpressionColumns {
  const b = new ColumnBuilder(source);
  let i = 0;
  for (const r of records) b.add(r, `${source} record ${++i}`);
  return b.finish();
}

/**
 * Reads the impressions of `dataPath` (a file, or a folder holding truth.jsonl or impressions.jsonl). Anything wrong with
 * the input (missing, unreadable, a line that is not JSON or not a valid record, no records at all) is a
 * RankingInputError (exit 2) naming the file, and the line where there is one.
 */
export async function readImpressions(dataPath: string): Promise<ImpressionColumns> {
  const file = await findImpressionsFile(dataPath);
  const b = new ColumnBuilder(file);
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if (text.trim().length === 0) continue;
      let rec: ImpressionRecord;
      try {
        rec = JSON.parse(text) as ImpressionRecord;
      } catch (e) {
        throw new RankingInputError(file, `${file} line ${line}: not JSON (${(e as Error).message})`, { cause: e });
      }
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
        throw new RankingInputError(file, `${file} line ${line}: expected a JSON object (an impression record), got ${text.trim().slice(0, 60)}`);
      }
      try {
        b.add(rec, `${file} line ${line}`);
      } catch (e) {
        throw new RankingInputError(file, (e as Error).message, { cause: e });
      }
    }
  } catch (e) {
    if (e instanceof RankingInputError) throw e;
    throw new RankingInputError(file, `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    rl.close();
    input.destroy();
  }
  if (b.count === 0) throw new RankingInputError(file, `${file} has no impressions (it is empty or holds only blank lines)`);
  return b.finish();
}

class ColumnBuilder {
  count = 0;
  private ts: number[] = [];
  private user: number[] = [];
  private pin: number[] = [];
  private adv: number[] = [];
  private cat: number[] = [];
  private surf: number[] = [];
  private click: number[] = [];
  private conv: number[] = [];
  private pClick: number[] = [];
  private pConvert: number[] = [];
  private allP = true;
  private readonly v = { users: new Vocabulary(), pins: new Vocabulary(), advertisers: new Vocabulary(), categories: new Vocabulary(), surfaces: new Vocabulary() };
  constructor(private readonly source: string) {}

  add(r: ImpressionRecord, where: string): void {
    for (const k of ['userId', 'pinId', 'advertiserId'] as const) {
      if (typeof r[k] !== 'string' || r[k].length === 0) throw new Error(`${where}: ${k} is missing or not a non-empty string`);
    }
    if (r.click !== 0 && r.click !== 1) throw new Error(`${where}: click must be 0 or 1, got ${JSON.stringify(r.click)}`);
    const conv = r.conversion ?? 0;
    if (conv !== 0 && conv !== 1) throw new Error(`${where}: conversion must be 0 or 1, got ${JSON.stringify(r.conversion)}`);
    this.ts.push(parseTs(r.ts, where));
    this.user.push(this.v.users.code(r.userId));
    this.pin.push(this.v.pins.code(r.pinId));
    this.adv.push(this.v.advertisers.code(r.advertiserId));
    this.cat.push(r.category ? this.v.categories.code(r.category) : -1);
    this.surf.push(this.v.surfaces.code(r.surface ?? ''));
    this.click.push(r.click);
    this.conv.push(r.click === 1 ? conv : 0);
    for (const k of ['pClick', 'pConvert'] as const) {
      const p = r[k];
      // The oracle's AUC ranks these: a probability outside [0, 1] (or 1e400, read as Infinity) is a broken file.
      if (p !== undefined && p !== null && !(typeof p === 'number' && p >= 0 && p <= 1)) throw new Error(`${where}: ${k} must be a probability in [0, 1], got ${JSON.stringify(p)}`);
    }
    if (typeof r.pClick === 'number' && typeof r.pConvert === 'number') {
      this.pClick.push(r.pClick);
      this.pConvert.push(r.pConvert);
    } else this.allP = false;
    this.count++;
  }

  finish(): ImpressionColumns {
    const n = this.count;
    // Stable sort by time: histories and the time split rely on it.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.ts[a] - this.ts[b] || a - b);
    const pick = <T extends Float64Array | Int32Array | Uint8Array | Float32Array>(ctor: new (n: number) => T, src: number[]): T => {
      const out = new ctor(n);
      for (let i = 0; i < n; i++) out[i] = src[order[i]];
      return out;
    };
    return {
      source: this.source,
      n,
      ts: pick(Float64Array, this.ts),
      user: pick(Int32Array, this.user),
      pin: pick(Int32Array, this.pin),
      advertiser: pick(Int32Array, this.adv),
      category: pick(Int32Array, this.cat),
      surface: pick(Int32Array, this.surf),
      click: pick(Uint8Array, this.click),
      conversion: pick(Uint8Array, this.conv),
      pClick: this.allP && n > 0 ? pick(Float32Array, this.pClick) : null,
      pConvert: this.allP && n > 0 ? pick(Float32Array, this.pConvert) : null,
      ...this.v,
    };
  }
}
