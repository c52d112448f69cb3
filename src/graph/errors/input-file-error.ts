/** An input file for ingestion is missing, unreadable, or breaks off mid-way. */
export class InputFileError extends Error {
  readonly exitCode = 2;
  constructor(readonly file: string, detail: string, options?: { cause?: unknown }) {
    super(`${file}: ${detail}`, options);
    this.name = 'InputFileError';
  }
}
