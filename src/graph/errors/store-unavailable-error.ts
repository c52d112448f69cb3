/** The store could not be reached or refused a write (Neo4j down, connection lost after retries). */
export class StoreUnavailableError extends Error {
  readonly exitCode = 3;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
