/**
 * An input of `adkg rank` that cannot be used: the `--data` impressions (missing, empty, malformed records) or the
 * `--embeddings` export (missing folder or file, malformed or non-finite arrays). Exit 2, like any input file that
 * cannot be used (README, exit codes).
 */
export class RankingInputError extends Error {
  readonly exitCode = 2;
  /** `file` is the file or folder the message is about. */
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RankingInputError';
  }
}
