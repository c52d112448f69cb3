import { Command, InvalidArgumentError } from 'commander';
import { parseTimestamp, snapshotToDirectory } from '../../graph';
import { addStoreOptions, StoreFlags, storeOptions } from '../graph-store-options';
import { parseIntOption } from '../options';

interface SnapshotFlags extends StoreFlags {
  from?: number;
  to?: number;
  minDegree: number;
  out: string;
  json?: boolean;
}

function parseTime(name: string): (v: string) => number {
  return (v: string) => {
    const t = parseTimestamp(v);
    if (typeof t === 'string') throw new InvalidArgumentError(`${name} ${t}, got "${v}"`);
    return t;
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('snapshot')
    .description('Export the events of a time window as a TripleSet (all triples in the train split) for KGE training')
    .requiredOption('--out <dir>', 'directory to write the TripleSet to (created)')
    .option('--from <time>', 'window start, inclusive: ISO-8601 with zone (a date alone: UTC midnight) or epoch ms (default: unbounded)', parseTime('--from'))
    .option('--to <time>', 'window end, exclusive: ISO-8601 with zone (a date alone: UTC midnight) or epoch ms (default: unbounded)', parseTime('--to'))
    .option('--min-degree <n>', 'repeatedly drop entities with fewer distinct triples than this', parseIntOption('--min-degree', 0), 0);
  addStoreOptions(cmd)
    .option('--json', 'print the manifest as JSON')
    .addHelpText(
      'after',
      '\nTriples are the distinct (head, relation, tail) of the window\'s events, plus the structural edges\n(PROMOTED_BY, IN_CATEGORY, SOLD_BY) of the pins and products present. Entities are sorted by type then id,\nrelations by name, triples by (head, relation, tail): both stores give byte-identical files for the same events.\ntrain.events.bin holds, per triple, how many events produced it (0 for structural triples);\ntrain.daily.bin the same events per UTC day (manifest.daily), and train.daily-attributed.bin how many of\neach day\'s user→advertiser events followed an ad click (the event names its pin; the rest were organic).',
    )
    .action(async (flags: SnapshotFlags) => {
      const window = { from: flags.from ?? null, to: flags.to ?? null };
      if (window.from !== null && window.to !== null && window.from >= window.to) {
        throw new InvalidArgumentError(`--from must be before --to (got ${new Date(window.from).toISOString()} and ${new Date(window.to).toISOString()})`);
      }
      const ts = await snapshotToDirectory(storeOptions(flags, true), window, flags.minDegree, flags.out);
      // Not an error (a quiet window is possible), but rarely what was meant: say so where it cannot be missed.
      if ((ts.manifest.counts.train ?? 0) === 0) {
        process.stderr.write(`snapshot: warning: the window holds no triples; check the window and the store (${flags.store === 'neo4j' ? 'NEO4J_URI' : '--db'})\n`);
      }
      if (flags.json) console.log(JSON.stringify(ts.manifest));
      else {
        const m = ts.manifest;
        console.log(
          `snapshot: ${m.counts.train ?? 0} triples, ${m.entities} entities, ${m.relations} relations from ${m.source} ` +
            `(window ${m.window.from ?? '-∞'} … ${m.window.to ?? '+∞'}) written to ${flags.out}`,
        );
      }
    });
}
