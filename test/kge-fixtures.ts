/**
 * Test and bench helpers for the KGE engine: the public KG archives in ../shared/datasets/kg read
 * straight from their .tar.gz (with the `tar` package) into a TripleSet, and tiny hand-made graphs.
 */
import { createReadStream, existsSync } from 'fs';
import * as path from 'path';
import { Parser, type ReadEntry } from 'tar';
import { makeManifest, type EntityEntry, type TripleArrays, type TripleSet, type SplitName } from '../src/common/triple-set';

/** ../shared/datasets/kg next to the repository (from source or from a compiled copy), or $ADKG_KG_DATASETS. */
export const KG_DATASETS_DIR =
  [process.env.ADKG_KG_DATASETS, path.resolve(__dirname, '../../shared/datasets/kg'), path.resolve(process.cwd(), '../shared/datasets/kg')]
    .find((d): d is string => !!d && existsSync(d)) ?? path.resolve(__dirname, '../../shared/datasets/kg');

export function kgArchivePath(name: 'nations' | 'kinship' | 'umls' | 'FB15k-237'): string {
  return path.join(KG_DATASETS_DIR, `${name}.tar.gz`);
}

export function kgArchiveExists(name: 'nations' | 'kinship' | 'umls' | 'FB15k-237'): boolean {
  return existsSync(kgArchivePath(name));
}

/** Reads {train,valid,test}.txt (tab-separated h r t, CRLF or LF) out of a .tar.gz into a TripleSet. */
export async function readKgArchive(name: 'nations' | 'kinship' | 'umls' | 'FB15k-237'): Promise<TripleSet> {
  const file = kgArchivePath(name);
  const texts = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const base = path.basename(entry.path);
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => texts.set(base, Buffer.concat(chunks).toString('utf8')));
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', reject);
    createReadStream(file).on('error', reject).pipe(parser);
  });
  const entityIndex = new Map<string, number>();
  const relationIndex = new Map<string, number>();
  const entities: EntityEntry[] = [];
  const relations: string[] = [];
  const splits: Partial<Record<SplitName, TripleArrays>> = {};
  for (const split of ['train', 'valid', 'test'] as SplitName[]) {
    const text = texts.get(`${split}.txt`);
    if (text === undefined) throw new Error(`${file}: no ${split}.txt`);
    const h: number[] = [], r: number[] = [], t: number[] = [];
    for (const line of text.split('\n')) {
      const parts = line.replace(/\r$/, '').split('\t');
      if (parts.length < 3) continue;
      const id = (s: string, m: Map<string, number>, push: (s: string) => void): number => {
        let i = m.get(s);
        if (i === undefined) {
          i = m.size;
          m.set(s, i);
          push(s);
        }
        return i;
      };
      h.push(id(parts[0], entityIndex, (s) => entities.push({ id: s, type: 'Entity' })));
      r.push(id(parts[1], relationIndex, (s) => relations.push(s)));
      t.push(id(parts[2], entityIndex, (s) => entities.push({ id: s, type: 'Entity' })));
    }
    splits[split] = { heads: Int32Array.from(h), relations: Int32Array.from(r), tails: Int32Array.from(t) };
  }
  return { manifest: makeManifest(`dataset:${name}`, entities, relations, splits), entities, relations, splits };
}
