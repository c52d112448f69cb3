/** The memory store's file exists but is not one this version can read (line 0: the file as a whole). */
export class StoreFileError extends Error {
  readonly exitCode = 5;
  constructor(readonly dbPath: string, readonly line: number, detail: string) {
    super(`${dbPath}: ${line > 0 ? `line ${line}: ` : ''}${detail}`);
    this.name = 'StoreFileError';
  }
}
