/**
 * Reads the text files a loader needs from a folder or a tar archive (.tar.gz, .tgz, .tar), matching
 * by file name wherever the file sits (archives often wrap everything in one top folder).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as tar from 'tar';
import { DatasetSourceError } from './errors';

export interface SourceFile {
  /** File name (basename). */
  name: string;
  /** How errors name it: the path, or "archive.tar.gz:inner/path". */
  display: string;
  text: string;
}

const ARCHIVE = /\.(tar\.gz|tgz|tar)$/i;

/** All regular files (basename → contents) whose basename passes `want`; a name found twice is an error. */
export async function readSourceFiles(src: string, want: (name: string) => boolean): Promise<Map<string, SourceFile>> {
  let stat;
  try {
    stat = await fs.stat(src);
  } catch {
    throw new DatasetSourceError(`${src}: no such file or folder`);
  }
  const found = new Map<string, SourceFile>();
  const add = (f: SourceFile) => {
    const prev = found.get(f.name);
    if (prev) throw new DatasetSourceError(`${src}: ${f.name} found twice (${prev.display} and ${f.display}); point at the folder that holds one set`);
    found.set(f.name, f);
  };
  if (stat.isDirectory()) {
    await walk(src, 0, async (file) => {
      const name = path.basename(file);
      if (want(name)) add({ name, display: file, text: await fs.readFile(file, 'utf8') });
    });
  } else if (ARCHIVE.test(src)) {
    const reads: Promise<void>[] = [];
    await tar.t({
      file: src,
      onReadEntry: (entry) => {
        const name = path.posix.basename(entry.path);
        if (entry.type !== 'File' || !want(name)) return;
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        reads.push(new Promise<void>((resolve) => entry.on('end', () => {
          add({ name, display: `${src}:${entry.path}`, text: Buffer.concat(chunks).toString('utf8') });
          resolve();
        })));
      },
    });
    await Promise.all(reads);
  } else {
    throw new DatasetSourceError(`${src}: expected a folder or a .tar.gz/.tgz/.tar archive`);
  }
  return found;
}

/** Files of a folder and of its subfolders, two levels deep, in name order (so results are stable). */
async function walk(dir: string, depth: number, visit: (file: string) => Promise<void>): Promise<void> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile()) await visit(p);
    else if (e.isDirectory() && depth < 2 && !e.name.startsWith('.')) await walk(p, depth + 1, visit);
  }
}
