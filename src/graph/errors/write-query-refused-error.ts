/** `adkg cypher` is read-only: a query whose plan writes (or changes the schema) is refused before it runs. */
export class WriteQueryRefusedError extends Error {
  readonly exitCode = 6;
  constructor(readonly queryType: string) {
    const what = queryType === 's' ? 'changes the schema' : queryType === 'w' ? 'writes' : 'reads and writes';
    super(`refused: this query ${what} (EXPLAIN query type "${queryType}"); adkg cypher runs read-only queries only, and nothing was changed`);
    this.name = 'WriteQueryRefusedError';
  }
}
