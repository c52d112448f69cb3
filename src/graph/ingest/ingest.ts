/**
 * Ingestion: event files → validated batches → a GraphStore, in bounded memory. Records stream in
 * (readers.ts), are classified (events.ts), and go to the store in batches of `batchSize`, with at most
 * `concurrency` writes in flight; the next batch is parsed while the last one is written. With more than one in
 * flight, each batch holds the events of its own share of the users (laneOf), so concurrent writes do not contend
 * for the same user nodes (in Neo4j: deadlocks on their index entries, each costing a whole batch's retry).
 *
 * Input errors, the same for every store: a file that cannot be opened, is compressed or Parquet, or is a CSV without a
 * header row stops the ingest before anything is written. A file that breaks off mid-way (an unclosed CSV quote)
 * stops it there, after the records before the break have been written (whatever the batch size). A non-empty file
 * none of whose records is accepted is reported once the others have been ingested. The first kind throws an
 * InputFileError, the others an IngestFailedError (with the summary) caused by one: exit 2 either way. A bad record by
 * itself is only rejected and counted.
 */
import { promises as fs } from 'fs';
import type { AdvertiserCatalogRecord, InteractionEvent, PinCatalogRecord } from '../events';
import { classifyEvent } from '../events';
import { IngestFailedError, InputFileError } from '../errors';
import { userHash } from '../user-hash';
import type { GraphStore, WriteBatch } from '../store/graph-store';
import { checkInputFile, InputReadError, ReadPosition, readRecords } from './readers';

export interface RejectedLine {
  file: string;
  line: number;
  field: string;
  reason: string;
}

export interface IngestSummary {
  store: string;
  files: string[];
  /** non-blank records read (CSV: data rows) */
  read: number;
  /** new interaction events stored */
  stored: number;
  /** events whose eventId was already stored, or repeated in the input */
  duplicates: number;
  rejected: number;
  /** offsite events without consent: true, stored nowhere */
  droppedNoConsent: number;
  /** events of erased users, dropped */
  droppedErased: number;
  /** catalog records (pin, advertiser) upserted */
  catalog: number;
  seconds: number;
  /** records read per second, wall clock */
  eventsPerSecond: number;
  /** the first rejects (up to maxRejectSamples), with line numbers */
  rejects: RejectedLine[];
}

export interface IngestProgress {
  bytesRead: number;
  totalBytes: number;
  read: number;
  stored: number;
}

export interface IngestOptions {
  batchSize?: number;
  concurrency?: number;
  maxRejectSamples?: number;
  onProgress?: (p: IngestProgress) => void;
}

/**
 * Records per write transaction. 5,000: with two writes in flight into Neo4j, a second 1M events into a warm server
 * went at 27–30k/s with 5,000, 26.8k/s with 2,500 and 21.8k/s with 10,000 (docs/benchmarks.md, bench/ingest
 * --second); the memory store does not care.
 */
export const DEFAULT_BATCH_SIZE = 5000;
/**
 * Writes in flight at once when neither the caller nor the store says (GraphStore.preferredConcurrency).
 * Parsing always overlaps the writes in flight.
 */
export const DEFAULT_CONCURRENCY = 1;

/** The lane (0 … lanes-1) of a user: FNV-1a of the id, so a user's events always share one. */
export function laneOf(userId: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

function emptyBatch(): WriteBatch {
  return { events: [], pins: [], advertisers: [] };
}

export async function ingestFiles(store: GraphStore, files: string[], options: IngestOptions = {}): Promise<IngestSummary> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const concurrency = Math.max(1, options.concurrency ?? store.preferredConcurrency ?? DEFAULT_CONCURRENCY);
  const maxRejectSamples = options.maxRejectSamples ?? 20;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be an integer ≥ 1, got ${batchSize}`);

  // Check every file before writing anything, so a typo in the last name (or a .gz, a Parquet file, a CSV without
  // its header row) does not leave a half-ingest.
  let totalBytes = 0;
  for (const f of files) {
    try {
      const st = await fs.stat(f);
      if (!st.isFile()) throw new InputFileError(f, 'is not a regular file');
      await fs.access(f, fs.constants.R_OK);
      await checkInputFile(f);
      totalBytes += st.size;
    } catch (e) {
      if (e instanceof InputFileError) throw e;
      throw new InputFileError(f, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
  }

  const started = process.hrtime.bigint();
  const summary: IngestSummary = {
    store: `${store.kind} ${store.location}`,
    files,
    read: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    droppedNoConsent: 0,
    droppedErased: 0,
    catalog: 0,
    seconds: 0,
    eventsPerSecond: 0,
    rejects: [],
  };
  const finish = () => {
    summary.seconds = Number(process.hrtime.bigint() - started) / 1e9;
    summary.eventsPerSecond = summary.seconds > 0 ? Math.round(summary.read / summary.seconds) : 0;
    return summary;
  };

  const erased = await store.erasedUserHashes();
  const position: ReadPosition = { bytesRead: 0 };
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;

  // One batch being filled per write in flight, each for its own share of the users (by a hash of the userId),
  // so concurrent writes never create or lock the same user; catalog lines go to the first.
  const lanes = Array.from({ length: concurrency }, () => ({ batch: emptyBatch(), ids: new Set<string>() }));
  const size = (b: WriteBatch) => b.events.length + b.pins.length + b.advertisers.length;
  const dispatch = async (lane: (typeof lanes)[number]) => {
    const b = lane.batch;
    lane.batch = emptyBatch();
    lane.ids = new Set();
    if (size(b) === 0) return;
    // Wait for a free slot before starting this write; the caller then parses the next batch while it runs.
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure) return;
    const p = store.write(b).then(
      (r) => {
        summary.stored += r.stored;
        summary.duplicates += r.duplicates;
        options.onProgress?.({ bytesRead: position.bytesRead, totalBytes, read: summary.read, stored: summary.stored });
      },
      (e) => {
        failure ??= e;
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  // The first reject of the file being read, for the message when none of its records is accepted.
  let firstReject: RejectedLine | null = null;
  const reject = (file: string, line: number, field: string, reason: string) => {
    summary.rejected++;
    firstReject ??= { file, line, field, reason };
    if (summary.rejects.length < maxRejectSamples) summary.rejects.push({ file, line, field, reason });
  };

  // Input that is wrong is reported after what was read before it has been written, so the outcome does not depend
  // on how the records fell into batches: a file that breaks off mid-way (stops the ingest), a file none of whose
  // records was accepted (the other files go on).
  const problems: InputFileError[] = [];
  let stoppedAt = -1;
  try {
    for (let fi = 0; fi < files.length && !failure; fi++) {
      const file = files[fi];
      const readBefore = summary.read;
      const rejectedBefore = summary.rejected;
      firstReject = null;
      try {
        let lane = lanes[0];
        for await (const rec of readRecords(file, position)) {
          if (failure) break;
          summary.read++;
          if (!('value' in rec)) {
            reject(file, rec.line, rec.field, rec.reason);
            continue;
          }
          const c = classifyEvent(rec.value);
          switch (c.type) {
            case 'rejected':
              reject(file, rec.line, c.field, c.reason);
              continue;
            case 'no-consent':
              summary.droppedNoConsent++;
              continue;
            case 'pin':
              lane = lanes[0];
              lane.batch.pins.push(c.pin as PinCatalogRecord);
              summary.catalog++;
              break;
            case 'advertiser':
              lane = lanes[0];
              lane.batch.advertisers.push(c.advertiser as AdvertiserCatalogRecord);
              summary.catalog++;
              break;
            case 'interaction': {
              const e: InteractionEvent = c.event;
              if (erased.size > 0 && erased.has(userHash(e.userId))) {
                summary.droppedErased++;
                continue;
              }
              lane = lanes.length === 1 ? lanes[0] : lanes[laneOf(e.userId, lanes.length)];
              if (lane.ids.has(e.eventId)) {
                summary.duplicates++;
                continue;
              }
              lane.ids.add(e.eventId);
              lane.batch.events.push(e);
              break;
            }
          }
          if (size(lane.batch) >= batchSize) await dispatch(lane);
        }
      } catch (e) {
        if (failure) break;
        const n = summary.read - readBefore;
        const where = e instanceof InputReadError ? `line ${e.line}: ${e.reason}` : `reading failed: ${(e as Error).message}`;
        problems.push(new InputFileError(file, `${where}; reading stopped there, after the ${n} record(s) before it`, { cause: e }));
        stoppedAt = fi;
        break;
      }
      if (failure) break;
      const read = summary.read - readBefore;
      if (read > 0 && summary.rejected - rejectedBefore === read) {
        const first = firstReject as RejectedLine | null;
        const example = first ? ` (the first, line ${first.line}: ${first.field}: ${first.reason})` : '';
        problems.push(new InputFileError(file, `none of its ${read} record(s) was accepted, every one was rejected${example}: is it a file of ad events? Nothing of it was stored`));
      }
    }
    // Write what was read, also when a file broke off: the rows before the bad one are stored whatever --batch is.
    for (const lane of lanes) if (!failure) await dispatch(lane);
    await Promise.all(inFlight);
  } catch (e) {
    await Promise.allSettled(inFlight);
    throw new IngestFailedError((e as Error).message, finish(), e);
  }
  if (failure) {
    throw new IngestFailedError(`store write failed; ${summary.stored} events were stored before it (re-run the same files to finish: stored events are skipped): ${(failure as Error).message}`, finish(), failure);
  }
  if (problems.length > 0) {
    const notRead = stoppedAt >= 0 && stoppedAt < files.length - 1 ? `; ${files.length - 1 - stoppedAt} file(s) after it were not read` : '';
    const message =
      problems.map((p) => p.message).join('; ') +
      `. ${summary.stored} new event(s) were stored from what was read${notRead}. ` +
      'Fix or leave out the file(s) named and re-run the same command: ingest is idempotent by eventId, so events already stored are skipped';
    throw new IngestFailedError(message, finish(), problems[0]);
  }
  return finish();
}
