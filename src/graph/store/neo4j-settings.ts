/** Where the Neo4j store connects, from the environment (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE). */
export interface Neo4jSettings {
  uri: string;
  user: string;
  password: string;
  /** Database name; undefined means the server's default database. */
  database?: string;
  /** Label prefix that keeps one tenant's graph apart from another's in the same database ('' = none). */
  namespace: string;
  /** How long a write transaction is retried on transient failures before the ingest gives up (ms). */
  maxRetryTimeMs: number;
}

export const DEFAULT_NEO4J_URI = 'bolt://127.0.0.1:7687';

function env(name: string): string | undefined {
  const v = process.env[name];
  return v !== undefined && v.trim() !== '' ? v : undefined;
}

export function neo4jSettingsFromEnv(overrides: Partial<Neo4jSettings> = {}): Neo4jSettings {
  const retry = Number(env('ADKG_NEO4J_RETRY_MS') ?? 15000);
  return {
    uri: env('NEO4J_URI') ?? DEFAULT_NEO4J_URI,
    user: env('NEO4J_USER') ?? 'neo4j',
    password: env('NEO4J_PASSWORD') ?? '',
    database: env('NEO4J_DATABASE'),
    namespace: env('ADKG_NEO4J_NAMESPACE') ?? '',
    maxRetryTimeMs: Number.isFinite(retry) && retry >= 0 ? retry : 15000,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
}
