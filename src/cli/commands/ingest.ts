import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { DEFAULT_BATCH_SIZE, IngestFailedError, ingestFiles, IngestSummary, openStore } from '../../graph';
import { addStoreOptions, StoreFlags, storeOptions } from '../graph-store-options';
import { parseIntOption } from '../options';

interface IngestFlags extends StoreFlags {
  batch: number;
  concurrency?: number;
  json?: boolean;
}

function printSummary(s: IngestSummary, out: (line: string) => void): void {
  const rate = s.eventsPerSecond.toLocaleString('en-US');
  out(`ingest: ${s.read} records from ${s.files.length} file(s) into ${s.store} in ${s.seconds.toFixed(2)} s (${rate} records/s)`);
  out(`  stored ${s.stored} new events, ${s.duplicates} duplicates, ${s.rejected} rejected, ${s.droppedNoConsent} dropped without consent, ${s.droppedErased} of erased users, ${s.catalog} catalog records`);
  if (s.rejects.length > 0) {
    out(`  first ${s.rejects.length} rejected line(s):`);
    for (const r of s.rejects) out(`    ${r.file}:${r.line} ${r.field}: ${r.reason}`);
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('ingest')
    .description('Stream event files (JSONL, or CSV with a header row) into the graph, in bounded memory; idempotent by eventId')
    .argument('<files...>', 'event files: *.csv is CSV whose header row names the event fields (kind, eventId, ts, userId, ...), anything else JSONL (one event a line)');
  addStoreOptions(cmd)
    .option('--batch <n>', 'records per write transaction', parseIntOption('--batch', 1), DEFAULT_BATCH_SIZE)
    .option(
      '--concurrency <n>',
      'writes in flight at once (default: 2 into a Neo4j with the adkg.writeEvents procedure, whose batches run on two server cores; otherwise 1, as concurrent Cypher batches contend on hub nodes)',
      parseIntOption('--concurrency', 1),
    )
    .option('--json', 'print one JSON object (read, stored, duplicates, rejected, droppedNoConsent, seconds, eventsPerSecond, rejects …)')
    .addHelpText(
      'after',
      '\nExit status: 0 when every file was read through (rejected lines are reported, each with its line, field and reason).\n' +
        '2 when an input file is wrong: it cannot be opened, is gzip-compressed or Parquet, is a CSV without a header row naming\n' +
        'the event fields (none of the files is then ingested); it breaks off mid-way, e.g. an unclosed CSV quote (the records\n' +
        'before it are stored, and the error names the line its bad record starts on); or none of its records was accepted.\n' +
        'Another non-zero code when the store cannot be opened or a write fails (3: Neo4j unreachable, 4: --db held by another process).\n' +
        'Re-running the same files stores nothing twice (idempotent by eventId), so a corrected file can simply be ingested again.',
    )
    .action(async (files: string[], flags: IngestFlags) => {
      const store = await openStore(storeOptions(flags));
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'ingest [{bar}] {percentage}% | {read} records | {stored} stored', stream: process.stderr, hideCursor: true }) : null;
      bar?.start(100, 0, { read: 0, stored: 0 });
      let summary: IngestSummary;
      try {
        summary = await ingestFiles(store, files, {
          batchSize: flags.batch,
          concurrency: flags.concurrency,
          onProgress: (p) => bar?.update(p.totalBytes > 0 ? Math.floor((100 * p.bytesRead) / p.totalBytes) : 100, { read: p.read, stored: p.stored }),
        });
      } catch (e) {
        bar?.stop();
        await store.close().catch(() => undefined); // keep what was stored; the original error is the one to report
        if (e instanceof IngestFailedError) {
          if (flags.json) console.log(JSON.stringify({ ...e.summary, error: e.message }));
          else printSummary(e.summary, (l) => console.error(l));
        }
        throw e;
      }
      bar?.update(100);
      bar?.stop();
      await store.close();
      if (flags.json) console.log(JSON.stringify(summary));
      else printSummary(summary, (l) => console.log(l));
    });
}
