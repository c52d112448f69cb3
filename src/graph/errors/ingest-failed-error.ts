import type { IngestSummary } from '../ingest/ingest';

/** Ingestion stopped part-way (store or input failure). `summary` says what was read and stored up to then. */
export class IngestFailedError extends Error {
  readonly exitCode: number;
  constructor(
    message: string,
    readonly summary: IngestSummary,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'IngestFailedError';
    const code = (cause as { exitCode?: unknown })?.exitCode;
    this.exitCode = typeof code === 'number' ? code : 1;
  }
}
