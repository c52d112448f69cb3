/**
 * Knowledge-graph benchmarks (train.txt / valid.txt / test.txt of head<TAB>relation<TAB>tail lines) →
 * TripleSet. Entities and relations are numbered in order of first appearance: train, then valid, then
 * test, each file top to bottom, head before tail. CRLF line ends, blank lines and whitespace around
 * fields are tolerated; anything else that is not three fields is an error naming file and line.
 */
import { EntityEntry, SplitName, TRIPLESET_FORMAT, TripleArrays, TripleSet, makeManifest, writeTripleSet } from '../common/triple-set';
import { assertOutputFolder } from '../common/output-folder';
import { DatasetFormatError, DatasetSourceError } from './errors';
import { SourceFile, readSourceFiles } from './source-files';

export const KG_DATASETS = ['fb15k-237', 'nations', 'umls', 'kinship'] as const;
export type KgDatasetName = (typeof KG_DATASETS)[number];

/** Published split sizes (ConvE release), checked after import. */
export const PUBLISHED_KG_SIZES: Record<KgDatasetName, { train: number; valid: number; test: number; entities: number; relations: number }> = {
  'fb15k-237': { train: 272_115, valid: 17_535, test: 20_466, entities: 14_541, relations: 237 },
  nations: { train: 1_592, valid: 199, test: 201, entities: 14, relations: 55 },
  umls: { train: 5_216, valid: 652, test: 661, entities: 135, relations: 46 },
  kinship: { train: 8_544, valid: 1_068, test: 1_074, entities: 104, relations: 25 },
};

export const INDEX_ORDER = 'first appearance: train, then valid, then test; each file top to bottom; head before tail';

const SPLIT_FILES: Record<SplitName, string> = { train: 'train.txt', valid: 'valid.txt', test: 'test.txt' };

/** Strings → dense ids in order of first appearance. */
export class Indexer {
  readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  id(name: string): number {
    let i = this.ids.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.ids.set(name, i);
      this.names.push(name);
    }
    return i;
  }
}

/** Parses one split file, numbering new entities and relations as they appear. */
export function parseTripleFile(file: SourceFile, entities: Indexer, relations: Indexer): TripleArrays {
  const heads: number[] = [], rels: number[] = [], tails: number[] = [];
  const lines = file.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim(); // also drops the \r of CRLF
    if (line.length === 0) continue;
    let fields = line.split('\t');
    if (fields.length !== 3) {
      const words = line.split(/\s+/);
      if (fields.length === 1 && words.length === 3) fields = words;
      else {
        throw new DatasetFormatError(file.display, i + 1, `expected 3 tab-separated fields (head, relation, tail), found ${fields.length}: ${JSON.stringify(line.slice(0, 120))}`);
      }
    }
    const [h, r, t] = fields.map((f) => f.trim());
    const empty = ['head', 'relation', 'tail'].find((_, k) => [h, r, t][k].length === 0);
    if (empty) throw new DatasetFormatError(file.display, i + 1, `${empty} is empty: ${JSON.stringify(line.slice(0, 120))}`);
    heads.push(entities.id(h));
    rels.push(relations.id(r));
    tails.push(entities.id(t));
  }
  return { heads: Int32Array.from(heads), relations: Int32Array.from(rels), tails: Int32Array.from(tails) };
}

export interface KgImportResult {
  tripleSet: TripleSet;
  /** Differences from the published sizes (empty when they match or the dataset has none). */
  mismatches: string[];
}

/** Reads train/valid/test from a folder or archive into a TripleSet (not written). */
export async function loadKgDataset(name: KgDatasetName | 'tsv', src: string): Promise<KgImportResult> {
  const wanted = new Set(Object.values(SPLIT_FILES));
  const files = await readSourceFiles(src, (n) => wanted.has(n));
  const missing = [...wanted].filter((n) => !files.has(n));
  if (missing.length > 0) throw new DatasetSourceError(`${src}: missing ${missing.join(', ')} (need train.txt, valid.txt and test.txt)`);
  const entities = new Indexer(), relations = new Indexer();
  const splits: Partial<Record<SplitName, TripleArrays>> = {};
  for (const s of ['train', 'valid', 'test'] as const) splits[s] = parseTripleFile(files.get(SPLIT_FILES[s])!, entities, relations);
  const entityEntries: EntityEntry[] = entities.names.map((id) => ({ id, type: 'Entity' }));
  const manifest = makeManifest(`dataset:${name}`, entityEntries, relations.names, splits, { from: null, to: null }, {
    dataset: name,
    path: src,
    files: Object.fromEntries((['train', 'valid', 'test'] as const).map((s) => [s, files.get(SPLIT_FILES[s])!.display])),
    indexOrder: INDEX_ORDER,
  });
  const mismatches: string[] = [];
  if (name !== 'tsv') {
    const want = PUBLISHED_KG_SIZES[name];
    const got = { train: manifest.counts.train!, valid: manifest.counts.valid!, test: manifest.counts.test!, entities: manifest.entities, relations: manifest.relations };
    for (const k of Object.keys(want) as (keyof typeof want)[]) if (want[k] !== got[k]) mismatches.push(`${k}: ${got[k]} (published ${want[k]})`);
  }
  return { tripleSet: { manifest, entities: entityEntries, relations: relations.names, splits }, mismatches };
}

/** Imports a KG benchmark and writes it as a TripleSet directory. */
export async function importKgDataset(name: KgDatasetName | 'tsv', src: string, outDir: string): Promise<KgImportResult> {
  await assertOutputFolder(outDir, TRIPLESET_FORMAT); // before the source is read: an --out holding another artefact is refused at once
  const result = await loadKgDataset(name, src);
  await writeTripleSet(outDir, result.tripleSet);
  return result;
}
