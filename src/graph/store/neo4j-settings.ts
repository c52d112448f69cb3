/**
 * Where the Neo4j store connects: common/config's serviceConfig() (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD),
 * plus the graph's own knobs NEO4J_DATABASE, ADKG_NEO4J_NAMESPACE and ADKG_NEO4J_RETRY_MS.
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
}

export { DEFAULT_NEO4J_URI } from '../../common/config';

function env(name: string): string | undefined {
  const v = process.env[name];
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

export function neo4jSettingsFromEnv(overrides: Partial<Neo4jSettings> = {}): Neo4jSettings {
  const config = serviceConfig();
  const retry = Number(env('ADKG_NEO4J_RETRY_MS') ?? 15000);
  return {
    uri: config.neo4jUri,
    user: config.neo4jUser,
    password: config.neo4jPassword,
    database: env('NEO4J_DATABASE'),
    namespace: env('ADKG_NEO4J_NAMESPACE') ?? '',
    maxRetryTimeMs: Number.isFinite(retry) && retry >= 0 ? retry : 15000,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
}
