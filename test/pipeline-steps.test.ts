/**
 * `adkg pipeline`'s steps: with Neo4j each simulated world gets its own namespace (ingest skips event ids already
 * stored and every world numbers its events e0, e1, …, so two worlds in one namespace would mix into one graph), and
 * --seed reaches every step, the ranking included.
 */
import { promises as fs, existsSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../src/cli/main';
import { pipelineSteps, worldNamespace, type PipelineOptions } from '../src/cli/commands/pipeline';
import { labelsFor } from '../src/graph';

async function world(events: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'adkg-pipeline-'));
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ format: 'adkg.simulation', seed: 1 }));
  await fs.writeFile(path.join(dir, 'events.jsonl'), events);
  return dir;
}

const opts = (over: Partial<PipelineOptions>): PipelineOptions => ({
  out: '/tmp/p', store: 'memory', users: 10, pins: 5, advertisers: 2, days: 4, evalDays: 1, seed: 9, model: 'transra', backend: 'auto', ...over,
});
const dirs = { sim: '/tmp/p/sim', db: '/tmp/p/graph.jsonl', triples: '/tmp/p/triples', kge: '/tmp/p/kge', rank: '/tmp/p/rank' };

test('worldNamespace: the same world gives the same name, another world another; a valid Neo4j namespace', async () => {
  const a = worldNamespace(await world('{"eventId":"e0"}\n'));
  const a2 = worldNamespace(await world('{"eventId":"e0"}\n'));
  const b = worldNamespace(await world('{"eventId":"e0","userId":"u2"}\n'));
  expect(a).toMatch(/^pipe[0-9a-f]{20}$/);
  expect(a2).toBe(a);
  expect(b).not.toBe(a);
  expect(() => labelsFor(a)).not.toThrow();
});

test('pipelineSteps: neo4j ingest and snapshot name the namespace, memory ones do not; the ranking gets --seed', () => {
  const neo = pipelineSteps(opts({ store: 'neo4j' }), 'native', dirs, '2026-01-04T00:00:00.000Z', 'pipeabc');
  const byTitle = (steps: typeof neo, t: string) => steps.find((s) => s.title.startsWith(t))!.args;
  for (const t of ['ingest', 'snapshot']) expect(byTitle(neo, t).join(' ')).toContain('--store neo4j --db /tmp/p/graph.jsonl --namespace pipeabc');
  const mem = pipelineSteps(opts({}), 'native', dirs, '2026-01-04T00:00:00.000Z', null);
  for (const s of mem) expect(s.args).not.toContain('--namespace');
  for (const steps of [neo, mem]) {
    const rank = byTitle(steps, 'rank');
    expect(rank[rank.indexOf('--seed') + 1]).toBe('9');
    const train = byTitle(steps, 'train');
    expect(train[train.indexOf('--seed') + 1]).toBe('9');
  }
});

test('pipeline --namespace without --store neo4j, or not a valid namespace, is refused before anything runs', async () => {
  const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'adkg-pipeline-')), 'run');
  await expect(buildProgram().parseAsync(['node', 'adkg', 'pipeline', '--namespace', 'mine', '--out', out, '--users', '20'])).rejects.toThrow('--namespace is for --store neo4j');
  expect(existsSync(out)).toBe(false);
  await expect(buildProgram().parseAsync(['node', 'adkg', 'pipeline', '--store', 'neo4j', '--namespace', 'my_ns', '--out', out, '--users', '20'])).rejects.toThrow('Neo4j namespace must be a letter followed by up to 39 letters or digits, got "my_ns"');
  expect(existsSync(out)).toBe(false);
});
