/**
 * truth.jsonl writing: the day's impressions arrive as columns and are formatted as ImpressionRecord
 * lines. (A worker-thread variant was measured slower on the 2-core box — see docs/benchmarks.md — so
 * formatting stays on the main thread.)
 */
import { createWriteStream } from 'fs';
import { ByteSink, latin1 } from './byte-sink';
import { SURFACES } from './event-buffer';

/** What the formatter needs to know about the world. */
export interface TruthWorld {
  users: number;
  pinAdvertiser: Int32Array;
  pinCategory: Int32Array;
}

/** One day's impressions in file order, column-wise. */
export interface TruthBatch {
  length: number;
  eventSeq: Float64Array;
  tsMs: Float64Array;
  user: Int32Array;
  pin: Int32Array;
  surface: Uint8Array;
  click: Uint8Array;
  conversion: Uint8Array;
  pClickMicros: Int32Array;
  pConvertMicros: Int32Array;
}

export function allocTruthBatch(capacity: number): TruthBatch {
  return {
    length: 0,
    eventSeq: new Float64Array(capacity),
    tsMs: new Float64Array(capacity),
    user: new Int32Array(capacity),
    pin: new Int32Array(capacity),
    surface: new Uint8Array(capacity),
    click: new Uint8Array(capacity),
    conversion: new Uint8Array(capacity),
    pClickMicros: new Int32Array(capacity),
    pConvertMicros: new Int32Array(capacity),
  };
}

/** Formats ImpressionRecord lines: {eventId, ts, userId, pinId, advertiserId, category, surface, click, conversion, pClick, pConvert}. */
export class TruthFormatter {
  private readonly eventOpen = latin1('{"eventId":"e');
  private readonly tsKey = latin1('","ts":');
  private readonly users: Buffer[];
  private readonly pins: Buffer[];
  private readonly surfaces = SURFACES.map((sf) => latin1(sf + '","click":'));
  private readonly labels = [0, 1].map((c) => [0, 1].map((v) => latin1(c + ',"conversion":' + v + ',"pClick":')));
  private readonly pConvertKey = latin1(',"pConvert":');
  private readonly end = latin1('}\n');

  constructor(world: TruthWorld) {
    this.users = Array.from({ length: world.users }, (_, u) => latin1(',"userId":"u' + u));
    this.pins = Array.from({ length: world.pinAdvertiser.length }, (_, p) =>
      latin1('","pinId":"p' + p + '","advertiserId":"a' + world.pinAdvertiser[p] + '","category":"c' + world.pinCategory[p] + '","surface":"'));
  }

  async write(sink: ByteSink, b: TruthBatch): Promise<void> {
    for (let i = 0; i < b.length; i++) {
      sink.bytes(this.eventOpen);
      sink.uint(b.eventSeq[i]);
      sink.bytes(this.tsKey);
      sink.uint(b.tsMs[i]);
      sink.bytes(this.users[b.user[i]]);
      sink.bytes(this.pins[b.pin[i]]);
      sink.bytes(this.surfaces[b.surface[i]]);
      sink.bytes(this.labels[b.click[i]][b.conversion[i]]);
      sink.micros(b.pClickMicros[i]);
      sink.bytes(this.pConvertKey);
      sink.micros(b.pConvertMicros[i]);
      sink.bytes(this.end);
      if (sink.full) await sink.flush();
    }
  }
}

export interface TruthWriter {
  write(batch: TruthBatch): Promise<void>;
  close(): Promise<void>;
  /** Stops without finishing the file (after another failure). */
  abort(): Promise<void>;
}

export function openTruthWriter(file: string, world: TruthWorld): TruthWriter {
  const sink = new ByteSink(createWriteStream(file, { highWaterMark: 8 << 20 }));
  const formatter = new TruthFormatter(world);
  return { write: (b) => formatter.write(sink, b), close: () => sink.end(), abort: () => sink.end().catch(() => undefined) };
}
