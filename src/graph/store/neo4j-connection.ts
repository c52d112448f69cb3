/**
 * A driver that has answered once. Both the store and the analysts' `adkg cypher` connect through here, so an
 * absent server fails within seconds with what to do about it, instead of after the driver's transaction
 * retries (about a minute) with only the driver's text.
 */
import neo4j, { Config, Driver, Neo4jError } from 'neo4j-driver';
import { StoreUnavailableError } from '../errors';
import type { Neo4jSettings } from './neo4j-settings';

const TRANSIENT_CODES = new Set(['ServiceUnavailable', 'SessionExpired']);

/** Neo4j could not be reached, or was lost: the driver's transient failures. */
export function isUnavailable(e: unknown): boolean {
  const code = (e as Neo4jError)?.code;
  return typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('Neo.TransientError'));
}

export function unreachableError(settings: Neo4jSettings, e: unknown): StoreUnavailableError {
  return new StoreUnavailableError(
    `cannot reach Neo4j at ${settings.uri}: ${(e as Error).message} (start it with \`npm run services:up\`, or set NEO4J_URI)`,
    { cause: e },
  );
}

export async function connectNeo4j(settings: Neo4jSettings, config: Config = {}): Promise<Driver> {
  const driver = neo4j.driver(settings.uri, settings.password ? neo4j.auth.basic(settings.user, settings.password) : undefined, {
    connectionTimeout: 10000,
    ...config,
  });
  try {
    await driver.verifyConnectivity({ database: settings.database });
  } catch (e) {
    await driver.close();
    if (isUnavailable(e) || (e as Error).message?.includes('ECONNREFUSED')) throw unreachableError(settings, e);
    throw e;
  }
  return driver;
}
