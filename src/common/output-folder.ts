/**
 * The guard every artefact writer runs before it writes into an output folder (--out). Each artefact is a folder
 * whose manifest.json names its format ("adkg.tripleset", "adkg.embeddings", "adkg.simulation",
 * "adkg.dataset-events"); writing one format into a folder that holds another would replace that manifest and leave
 * the other artefact unreadable. Re-writing an artefact of the same format in its own folder is normal (a snapshot
 * re-run, the pipeline's .adkg/pipeline/ subfolders) and stays allowed.
 */
import { promises as fs } from 'fs';
import * as path from 'path';

/** The output folder holds another artefact, is the input folder, or is not a folder. A usage error: exit 1. */
export class OutputFolderError extends Error {
  readonly exitCode = 1;
  constructor(readonly dir: string, message: string) {
    super(message);
    this.name = 'OutputFolderError';
  }
}

export interface OutputFolderOptions {
  /** The option that named the folder, for the message (default "--out"). */
  option?: string;
  /** Input folders the output must not be (same real path): the writer would overwrite what it reads. */
  inputs?: { option: string; dir: string }[];
}

async function realPath(p: string): Promise<string | null> {
  try {
    return await fs.realpath(p);
  } catch {
    return null;
  }
}

/**
 * Refuses, before anything is written, an output folder that is an input folder, is not a folder, or already holds a
 * manifest.json of a format other than `format`. A folder that does not exist yet, has no manifest.json, or holds an
 * artefact of the same format passes.
 */
export async function assertOutputFolder(dir: string, format: string, options: OutputFolderOptions = {}): Promise<void> {
  const option = options.option ?? '--out';
  const out = await realPath(dir);
  if (out !== null) {
    for (const input of options.inputs ?? []) {
      if ((await realPath(input.dir)) === out) {
        throw new OutputFolderError(
          dir,
          `${option} ${dir} is the ${input.option} folder (${out}): writing an ${format} there would overwrite what it reads. Nothing was written: pass another ${option}`,
        );
      }
    }
    const st = await fs.stat(out);
    if (!st.isDirectory()) throw new OutputFolderError(dir, `${option} ${dir} is a file, not a folder; pass another ${option}`);
  }
  const manifestPath = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = await fs.readFile(manifestPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // a new folder, or one without an artefact: nothing to lose
    if (code === 'ENOTDIR') throw new OutputFolderError(dir, `${option} ${dir} is not a folder (a file stands in its path); pass another ${option}`);
    throw new OutputFolderError(dir, `cannot check ${option} ${dir} before writing an ${format}: ${manifestPath} cannot be read (${(e as Error).message}); pass another ${option}`);
  }
  let what: string;
  try {
    const m = JSON.parse(text) as unknown;
    const found = m !== null && typeof m === 'object' ? (m as { format?: unknown }).format : undefined;
    if (found === format) return; // the same kind of artefact: rewriting it in its own folder is normal
    what = typeof found === 'string' ? `an ${found} (its manifest.json)` : 'a manifest.json without a format';
  } catch {
    what = 'a manifest.json that is not JSON';
  }
  throw new OutputFolderError(
    dir,
    `${option} ${dir} already holds ${what}; writing an ${format} there would replace it. Nothing was written: pass another ${option} (a new folder, or one holding an ${format})`,
  );
}
