/**
 * The project's own services, for real: the Neo4j and Redis that `npm test` brings up through
 * scripts/services.sh (and whatever NEO4J_URI / REDIS_URL point at, which the script also honours).
 */
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import Redis from 'ioredis';
import neo4j, { type Driver } from 'neo4j-driver';
import { serviceConfig, neo4jConfigured, redisConfigured, DEFAULT_NEO4J_URI, DEFAULT_REDIS_URL } from '../src/common';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'services.sh');

/** Runs services.sh and returns its exit code and output instead of throwing on non-zero. */
async function services(command: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [SCRIPT, command], { cwd: ROOT, env, timeout: 300_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('serviceConfig', () => {
  it('defaults to the local services when nothing is set', () => {
    expect(serviceConfig({})).toEqual({
      neo4jUri: DEFAULT_NEO4J_URI,
      neo4jUser: 'neo4j',
      neo4jPassword: expect.any(String),
      redisUrl: DEFAULT_REDIS_URL,
    });
    expect(neo4jConfigured({})).toBe(false);
    expect(redisConfigured({})).toBe(false);
  });

  it('takes explicit values, and treats blank ones as unset', () => {
    const env = { NEO4J_URI: 'bolt://db.example:7999', NEO4J_USER: 'analyst', NEO4J_PASSWORD: ' s p ', REDIS_URL: '  ' };
    expect(serviceConfig(env)).toEqual({
      neo4jUri: 'bolt://db.example:7999',
      neo4jUser: 'analyst',
      neo4jPassword: ' s p ',
      redisUrl: DEFAULT_REDIS_URL,
    });
    expect(neo4jConfigured(env)).toBe(true);
    expect(redisConfigured(env)).toBe(false);
  });
});

describe('Neo4j service', () => {
  const config = serviceConfig();
  let driver: Driver;
  beforeAll(() => {
    driver = neo4j.driver(config.neo4jUri, neo4j.auth.basic(config.neo4jUser, config.neo4jPassword));
  });
  afterAll(async () => {
    await driver.close();
  });

  it('answers RETURN 1 over Bolt', async () => {
    const one = await driver.executeQuery('RETURN 1 AS one');
    expect(neo4j.integer.toNumber(one.records[0].get('one'))).toBe(1);
    const two = await driver.executeQuery('RETURN $x + 1 AS two', { x: neo4j.int(1) });
    expect(neo4j.integer.toNumber(two.records[0].get('two'))).toBe(2);
  });

  it('is Neo4j 5.26.x', async () => {
    const result = await driver.executeQuery('CALL dbms.components() YIELD name, versions RETURN name, versions');
    const kernel = result.records.find((r) => r.get('name') === 'Neo4j Kernel');
    expect(kernel).toBeDefined();
    expect(kernel!.get('versions')[0]).toMatch(/^5\.26\.\d+$/);
  });
});

describe('Redis service', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(serviceConfig().redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('answers PING', async () => {
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
  });

  it('never evicts keys (maxmemory-policy noeviction), so queued jobs cannot vanish', async () => {
    const [name, value] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    expect(name).toBe('maxmemory-policy');
    expect(value).toBe('noeviction');
  });
});

describe('scripts/services.sh', () => {
  it('status exits 0 and reports both services up', async () => {
    const { code, stdout } = await services('status');
    expect(stdout).toMatch(/^neo4j .* up /m);
    expect(stdout).toMatch(/^redis .* up /m);
    expect(code).toBe(0);
  });

  it('status exits non-zero and says DOWN when a service does not answer', async () => {
    // Port 1 is privileged and never runs Redis here.
    const { code, stdout } = await services('status', { ...process.env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(stdout).toMatch(/^redis .*127\.0\.0\.1:1 +DOWN/m);
    expect(code).not.toBe(0);
  });

  it('up a second time is a fast no-op that leaves the running servers alone', async () => {
    const pidFile = path.join(process.env.ADKG_SERVICES_DIR ?? path.join(ROOT, '.services'), 'neo4j.pid');
    const pidBefore = await fs.readFile(pidFile, 'utf8').catch(() => null);
    const started = Date.now();
    const { code, stderr } = await services('up');
    const seconds = (Date.now() - started) / 1000;
    expect(code).toBe(0);
    expect(stderr).toMatch(/neo4j: already up/);
    expect(stderr).toMatch(/redis: already up/);
    expect(stderr).not.toMatch(/starting/);
    expect(await fs.readFile(pidFile, 'utf8').catch(() => null)).toBe(pidBefore);
    expect(seconds).toBeLessThan(15);
  });
});
