/**
 * Where the services live. Defaults point at the local servers that `npm run services:up` starts
 * (scripts/services.sh reads the same variables to pick its ports).
 */
export interface ServiceConfig {
  /** Bolt URI of Neo4j (NEO4J_URI). */
  neo4jUri: string;
  /** NEO4J_USER. */
  neo4jUser: string;
  /** NEO4J_PASSWORD; the local server runs with auth disabled, so the default is never checked there. */
  neo4jPassword: string;
  /** REDIS_URL. */
  redisUrl: string;
}

export const DEFAULT_NEO4J_URI = 'bolt://127.0.0.1:7687';
export const DEFAULT_NEO4J_USER = 'neo4j';
export const DEFAULT_NEO4J_PASSWORD = 'adkg-local';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

type Env = Record<string, string | undefined>;

function explicit(env: Env, name: string): string | undefined {
  const value = env[name];
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/** Service locations from the environment, with the local defaults for anything unset or blank. */
export function serviceConfig(env: Env = process.env): ServiceConfig {
  return {
    neo4jUri: explicit(env, 'NEO4J_URI') ?? DEFAULT_NEO4J_URI,
    neo4jUser: explicit(env, 'NEO4J_USER') ?? DEFAULT_NEO4J_USER,
    // Not trimmed: a password may legitimately contain spaces.
    neo4jPassword: env.NEO4J_PASSWORD !== undefined && env.NEO4J_PASSWORD !== '' ? env.NEO4J_PASSWORD : DEFAULT_NEO4J_PASSWORD,
    redisUrl: explicit(env, 'REDIS_URL') ?? DEFAULT_REDIS_URL,
  };
}

/** True when NEO4J_URI was set explicitly; otherwise the main job uses the embedded (memory) store. */
export function neo4jConfigured(env: Env = process.env): boolean {
  return explicit(env, 'NEO4J_URI') !== undefined;
}

/** True when REDIS_URL was set explicitly. */
export function redisConfigured(env: Env = process.env): boolean {
  return explicit(env, 'REDIS_URL') !== undefined;
}
