/** `adkg dataset`: import public datasets (src/datasets). */
import { Command, InvalidArgumentError } from 'commander';
import { ADS_DATASETS, AdsDatasetName, INDEX_ORDER, KG_DATASETS, KgDatasetName, PUBLISHED_KG_SIZES, importAdsDataset, importKgDataset } from '../../datasets';
import { parseChoice, parseIntOption } from '../options';

const NAMES = [...KG_DATASETS, 'tsv', ...ADS_DATASETS] as const;
type DatasetName = (typeof NAMES)[number];

interface ImportOptions { out: string; start: string; days: number; advertiser: 'shop' | 'brand' }

export function register(program: Command): void {
  const dataset = program.command('dataset').description('Import public datasets into adkg formats');
  dataset
    .command('import')
    .description(
      'Import a dataset from a folder or a .tar.gz/.tgz/.tar archive.\n' +
        `  ${KG_DATASETS.join(', ')}, tsv: train.txt, valid.txt, test.txt of head<TAB>relation<TAB>tail lines → a TripleSet ` +
        `directory (entity type "Entity", source "dataset:<name>"); ids are numbered by ${INDEX_ORDER}. CRLF and stray ` +
        'whitespace are accepted; a malformed line stops the import with its file and line. Named benchmarks are checked ' +
        'against their published split sizes.\n' +
        `  ${ADS_DATASETS.join(', ')}: *train*.csv, *val*.csv, *test*.csv → events.jsonl (event contract), impressions.jsonl ` +
        '(ImpressionRecord with click/conversion labels) and manifest.json (column mapping, counts). Times are synthesized: ' +
        'the files in split order (train, val, test) are spread evenly over --days from --start.',
    )
    .argument('<name>', NAMES.join('|'), parseChoice('<name>', NAMES))
    .argument('<path>', 'folder or archive holding the dataset files')
    .requiredOption('--out <dir>', 'output directory (created)')
    .option('--start <date>', 'ads datasets: ISO date (UTC) of day 0', '2026-01-01')
    .option('--days <n>', 'ads datasets: days the rows are spread over', parseIntOption('--days', 1), 14)
    .option('--advertiser <column>', 'ali-ccp: which column becomes the advertiser, shop or brand', (v: string) => {
      if (v !== 'shop' && v !== 'brand') throw new InvalidArgumentError(`--advertiser must be shop or brand, got "${v}"`);
      return v;
    }, 'shop')
    .action(async (name: DatasetName, src: string, o: ImportOptions) => {
      if ((ADS_DATASETS as readonly string[]).includes(name)) {
        const m = await importAdsDataset(name as AdsDatasetName, src, o.out, { start: o.start, days: o.days, advertiser: o.advertiser });
        process.stdout.write(
          `${name}: ${m.counts.rows} impressions (${m.counts.onsite.click} clicks, ${m.counts.offsite.checkout} conversions), ` +
            `${m.counts.users} users, ${m.counts.pins} pins, ${m.counts.advertisers} advertisers → ${o.out}\n`,
        );
        return;
      }
      const { tripleSet, mismatches } = await importKgDataset(name as KgDatasetName | 'tsv', src, o.out);
      const c = tripleSet.manifest.counts;
      process.stdout.write(`${name}: ${c.train} / ${c.valid} / ${c.test} triples (train/valid/test), ${tripleSet.manifest.entities} entities, ${tripleSet.manifest.relations} relations → ${o.out}\n`);
      if (mismatches.length > 0) process.stderr.write(`warning: ${name} differs from its published sizes: ${mismatches.join('; ')}\n`);
    });
  dataset
    .command('list')
    .description('List the datasets `dataset import` knows, with published sizes')
    .action(() => {
      for (const n of KG_DATASETS) {
        const s = PUBLISHED_KG_SIZES[n];
        process.stdout.write(`${n}\tKG\t${s.train}/${s.valid}/${s.test} triples, ${s.entities} entities, ${s.relations} relations\n`);
      }
      process.stdout.write('tsv\tKG\tany folder/archive with train.txt, valid.txt, test.txt\n');
      for (const n of ADS_DATASETS) process.stdout.write(`${n}\tads\tCSV samples → events.jsonl + impressions.jsonl\n`);
    });
}
