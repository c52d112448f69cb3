/** A `--param` is malformed, or a parameter the query declares has no value and no default. */
export class QueryParameterError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'QueryParameterError';
  }
}
