/**
 * truth.jsonl writing, off the main thread when it can be: the main thread simulates and writes
 * events.jsonl while a worker formats the day's ImpressionRecords, so both cores work. The same
 * formatter runs in-thread where no compiled worker exists (ts-jest) or threads are turned off, so
 * the bytes are the same either way.
 */
import { createWriteStream, existsSync } from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
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

function batchBuffers(b: TruthBatch): ArrayBuffer[] {
  return [b.eventSeq, b.tsMs, b.user, b.pin, b.surface, b.click, b.conversion, b.pClickMicros, b.pConvertMicros].map((a) => a.buffer as ArrayBuffer);
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

/** Where truth batches go: a worker thread or the formatter in this thread. */
export interface TruthWriter {
  /** Takes ownership of the batch (its buffers may be transferred). */
  write(batch: TruthBatch): Promise<void>;
  close(): Promise<void>;
  /** Stops without finishing the file (after another failure). */
  abort(): Promise<void>;
}

const WORKER_FILE = path.join(__dirname, 'truth-worker.js');

export function openTruthWriter(file: string, world: TruthWorld, useThread: boolean): TruthWriter {
  // Under ts-jest only the .ts sources exist; the compiled worker sits next to this file in dist/.
  if (useThread && __filename.endsWith('.js') && existsSync(WORKER_FILE)) return new ThreadTruthWriter(file, world);
  const sink = new ByteSink(createWriteStream(file, { highWaterMark: 8 << 20 }));
  const formatter = new TruthFormatter(world);
  return { write: (b) => formatter.write(sink, b), close: () => sink.end(), abort: () => sink.end().catch(() => undefined) };
}

/** At most this many days wait for the worker; the main thread pauses beyond that (backpressure). */
const MAX_PENDING_BATCHES = 2;

class ThreadTruthWriter implements TruthWriter {
  private readonly worker: Worker;
  private pending = 0;
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private closed: Promise<void>;

  constructor(file: string, world: TruthWorld) {
    this.worker = new Worker(WORKER_FILE, { workerData: { file, users: world.users, pinAdvertiser: world.pinAdvertiser, pinCategory: world.pinCategory } });
    this.closed = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'written') this.pending--;
        else if (m.type === 'closed') resolve();
        else if (m.type === 'error') this.fail(new Error(`truth writer: ${m.message}`), reject);
        this.wake();
      });
      this.worker.on('error', (e) => this.fail(e, reject));
      this.worker.on('exit', (code) => { if (code !== 0) this.fail(new Error(`truth writer exited with code ${code}`), reject); });
    });
    this.closed.catch(() => undefined); // reported by write/close
  }

  private fail(e: Error, reject: (e: Error) => void): void {
    this.failure ??= e;
    reject(e);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async write(batch: TruthBatch): Promise<void> {
    if (this.failure) throw this.failure;
    this.pending++;
    this.worker.postMessage({ type: 'batch', batch }, batchBuffers(batch));
    while (this.pending > MAX_PENDING_BATCHES && !this.failure) await new Promise<void>((r) => (this.waiter = r));
    if (this.failure) throw this.failure;
  }

  async abort(): Promise<void> {
    await this.worker.terminate();
  }

  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    this.worker.postMessage({ type: 'close' });
    await this.closed;
    await this.worker.terminate();
  }
}
