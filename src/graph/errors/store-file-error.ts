/** The memory store's file exists but is not one this version can read. */
export class StoreFileError extends Error {
  readonly exitCode = 5;
  constructor(readonly dbPath: string, readonly line: number, detail: string) {
    super(`${dbPath}: line ${line}: ${detail}`);
    this.name = 'StoreFileError';
  }
}
