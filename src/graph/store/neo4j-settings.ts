/**
 * Where the Neo4j store connects: common/config's serviceConfig() (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD),
 * plus the graph's own knobs NEO4J_DATABASE, ADKG_NEO4J_NAMESPACE, ADKG_NEO4J_RETRY_MS and ADKG_NEO4J_WRITE_PATH.
 */
import { serviceConfig } from '../../common/config';

export interface Neo4jSettings {
  uri: string;
  user: string;
  password: string;
  /** Database name; undefined means the server's default database. */
  database?: string;
  /** Label prefix that keeps one tenant's graph apart from another's in the same database ('' = none). */
  namespace: string;
  /** How long a transaction is retried on transient failures (connection lost, deadlock) before giving up, ms. */
  maxRetryTimeMs: number;
  /**
   * How batches are written: 'procedure' through adkg.writeEvents (tools/neo4j registers it; a plugin jar on other
   * servers), 'cypher' through UNWIND statements, 'auto' the procedure when the server has it.
   */
  writePath: Neo4jWritePath;
}

export const NEO4J_WRITE_PATHS = ['auto', 'procedure', 'cypher'] as const;
export type Neo4jWritePath = (typeof NEO4J_WRITE_PATHS)[number];

export { DEFAULT_NEO4J_URI } from '../../common/config';

function env(name: string): string | undefined {
  const v = process.env[name];
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

export function neo4jSettingsFromEnv(overrides: Partial<Neo4jSettings> = {}): Neo4jSettings {
  const config = serviceConfig();
  const retry = Number(env('ADKG_NEO4J_RETRY_MS') ?? 15000);
  const writePath = env('ADKG_NEO4J_WRITE_PATH') ?? 'auto';
  if (!(NEO4J_WRITE_PATHS as readonly string[]).includes(writePath)) {
    throw new Error(`ADKG_NEO4J_WRITE_PATH must be one of ${NEO4J_WRITE_PATHS.join(', ')}, got ${JSON.stringify(writePath)}`);
  }
  return {
    uri: config.neo4jUri,
    user: config.neo4jUser,
    password: config.neo4jPassword,
    database: env('NEO4J_DATABASE'),
    namespace: env('ADKG_NEO4J_NAMESPACE') ?? '',
    maxRetryTimeMs: Number.isFinite(retry) && retry >= 0 ? retry : 15000,
    writePath: writePath as Neo4jWritePath,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
}
