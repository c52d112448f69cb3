/** `adkg cypher` refuses a read-only query that reaches outside the graph (LOAD CSV of a file or URL). */
export class QueryRefusedError extends Error {
  readonly exitCode = 6;
  constructor(why: string) {
    super(`refused: ${why}; nothing was run`);
    this.name = 'QueryRefusedError';
  }
}
