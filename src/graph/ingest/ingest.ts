/**
 * Ingestion: event files → validated batches → a GraphStore, in bounded memory. Records stream in
 * (readers.ts), are classified (events.ts), and go to the store in batches of `batchSize`, with at most
 * `concurrency` writes in flight; the next batch is parsed while the last one is written.
 */
import { promises as fs } from 'fs';
import type { AdvertiserCatalogRecord, InteractionEvent, PinCatalogRecord } from '../events';
import { classifyEvent } from '../events';
import { IngestFailedError, InputFileError } from '../errors';
import { userHash } from '../user-hash';
import type { GraphStore, WriteBatch } from '../store/graph-store';
import { ReadPosition, readRecords } from './readers';

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

export const DEFAULT_BATCH_SIZE = 10000;
/**
 * Writes in flight at once when neither the caller nor the store says (GraphStore.preferredConcurrency).
 * Parsing always overlaps the writes in flight.
 */
export const DEFAULT_CONCURRENCY = 1;

function emptyBatch(): WriteBatch {
  return { events: [], pins: [], advertisers: [] };
}

export async function ingestFiles(store: GraphStore, files: string[], options: IngestOptions = {}): Promise<IngestSummary> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const concurrency = Math.max(1, options.concurrency ?? store.preferredConcurrency ?? DEFAULT_CONCURRENCY);
  const maxRejectSamples = options.maxRejectSamples ?? 20;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be an integer ≥ 1, got ${batchSize}`);

  // Check every file before writing anything, so a typo in the last name does not leave a half-ingest.
  let totalBytes = 0;
  for (const f of files) {
    try {
      const st = await fs.stat(f);
      if (!st.isFile()) throw new InputFileError(f, 'is not a regular file');
      await fs.access(f, fs.constants.R_OK);
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

  let batch = emptyBatch();
  let batchIds = new Set<string>();
  const dispatch = async () => {
    const b = batch;
    batch = emptyBatch();
    batchIds = new Set();
    if (b.events.length + b.pins.length + b.advertisers.length === 0) return;
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

  const reject = (file: string, line: number, field: string, reason: string) => {
    summary.rejected++;
    if (summary.rejects.length < maxRejectSamples) summary.rejects.push({ file, line, field, reason });
  };

  try {
    for (const file of files) {
      let records;
      try {
        records = readRecords(file, position);
        for await (const rec of records) {
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
              batch.pins.push(c.pin as PinCatalogRecord);
              summary.catalog++;
              break;
            case 'advertiser':
              batch.advertisers.push(c.advertiser as AdvertiserCatalogRecord);
              summary.catalog++;
              break;
            case 'interaction': {
              const e: InteractionEvent = c.event;
              if (erased.size > 0 && erased.has(userHash(e.userId))) {
                summary.droppedErased++;
                continue;
              }
              if (batchIds.has(e.eventId)) {
                summary.duplicates++;
                continue;
              }
              batchIds.add(e.eventId);
              batch.events.push(e);
              break;
            }
          }
          if (batch.events.length + batch.pins.length + batch.advertisers.length >= batchSize) await dispatch();
        }
      } catch (e) {
        if (failure) break;
        throw new InputFileError(file, `reading failed after ${summary.read} records: ${(e as Error).message}`, { cause: e });
      }
      if (failure) break;
    }
    if (!failure) await dispatch();
    await Promise.all(inFlight);
  } catch (e) {
    await Promise.allSettled(inFlight);
    throw new IngestFailedError((e as Error).message, finish(), e);
  }
  if (failure) {
    throw new IngestFailedError(`store write failed; ${summary.stored} events were stored before it (re-run the same files to finish: stored events are skipped): ${(failure as Error).message}`, finish(), failure);
  }
  return finish();
}
