/** A command that reads (or erases from) the memory store was pointed at a file that does not exist. */
export class StoreNotFoundError extends Error {
  readonly exitCode = 5;
  constructor(readonly dbPath: string, purpose: string) {
    super(`no memory store at ${dbPath}: nothing to ${purpose} (check --db or ADKG_DB; \`adkg ingest --db ${dbPath}\` creates one)`);
    this.name = 'StoreNotFoundError';
  }
}
