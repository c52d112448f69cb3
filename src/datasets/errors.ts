/** A source file of a dataset is not in the expected format; the message names the file and the line. */
export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
  constructor(readonly file: string, readonly line: number | null, reason: string) {
    super(line === null ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
  }
}

/** The dataset source (folder or archive) lacks a file it needs. */
export class DatasetSourceError extends Error {
  override name = 'DatasetSourceError';
}
