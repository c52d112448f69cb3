/** Another live process holds the memory store's file for writing. */
export class StoreLockedError extends Error {
  readonly exitCode = 4;
  constructor(readonly dbPath: string, readonly holderPid: number) {
    super(`${dbPath} is being written by process ${holderPid}; wait for it to finish (or remove ${dbPath}.lock if that process is gone)`);
    this.name = 'StoreLockedError';
  }
}
