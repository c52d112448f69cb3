/**
 * A command that reads (or erases from) a graph was pointed at one that is not there: a memory store file that does
 * not exist, or a Neo4j namespace that holds no adkg graph. Refused rather than read as an empty graph.
 */
export class StoreNotFoundError extends Error {
  readonly exitCode = 5;
  constructor(message: string) {
    super(message);
    this.name = 'StoreNotFoundError';
  }
}
