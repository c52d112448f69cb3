/**
 * `adkg pipeline`: the main job end to end on one machine — simulate a world, ingest it into a
 * graph store, snapshot the training window, train TransRA, and run the ranking ablation on the
 * held-out last days. Each step is the same `adkg` subcommand a user would run, started as a child
 * process so its output, progress and exit code are exactly what that command gives on its own.
 */
import { Command } from 'commander';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseChoice, parseIntOption } from '../options';
import { resolveBackend } from '../backend-choice';
import { labelsFor } from '../../graph';

export interface PipelineOptions {
  out: string;
  store: 'memory' | 'neo4j';
  users: number;
  pins: number;
  advertisers: number;
  days: number;
  evalDays: number;
  seed: number;
  model: 'transe' | 'transr' | 'transra';
  backend: 'js' | 'native' | 'cuda' | 'auto';
  epochs?: number;
  namespace?: string;
}

const BIN = path.resolve(__dirname, '../../../bin/adkg.js');

function step(title: string, args: string[]): void {
  process.stderr.write(`\n== ${title}\n$ adkg ${args.join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const err = new Error(`pipeline step "${title}" failed (exit ${r.status ?? r.signal}); see its output above`);
    (err as Error & { exitCode: number }).exitCode = r.status ?? 1;
    throw err;
  }
  process.stderr.write(`-- ${title}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * 86_400_000).toISOString();
}

/**
 * The Neo4j namespace of a simulated world: `pipe` and 20 hex digits of a hash of its manifest and events. Ingest
 * skips event ids already stored and every run numbers its events e0, e1, …, so two worlds in one namespace would
 * mix into one graph; one namespace per world keeps them apart and lets a rerun of the same world find its graph.
 */
export function worldNamespace(simDir: string): string {
  const hash = createHash('sha256');
  for (const name of ['manifest.json', 'events.jsonl']) {
    const fd = fs.openSync(path.join(simDir, name), 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  }
  return `pipe${hash.digest('hex').slice(0, 20)}`;
}

/** The arguments of the steps after `simulate` (its world in `sim`), as `adkg` subcommands. */
export function pipelineSteps(opts: PipelineOptions, backend: string, dirs: { sim: string; db: string; triples: string; kge: string; rank: string },
  trainEnd: string, namespace: string | null): { title: string; args: string[] }[] {
  const seed = String(opts.seed);
  const store = ['--store', opts.store, '--db', dirs.db, ...(namespace ? ['--namespace', namespace] : [])];
  const trainArgs = ['train', '--triples', dirs.triples, '--model', opts.model, '--backend', backend, '--seed', seed, '--out', dirs.kge];
  if (opts.epochs) trainArgs.push('--epochs', String(opts.epochs));
  return [
    { title: 'ingest', args: ['ingest', path.join(dirs.sim, 'events.jsonl'), ...store] },
    { title: 'snapshot', args: ['snapshot', ...store, '--to', trainEnd, '--out', dirs.triples] },
    { title: `train ${opts.model} (${backend})`, args: trainArgs },
    // The same snapshot the embeddings came from: attention also reads the users' offsite neighbours in it.
    { title: 'rank ablation', args: ['rank', 'ablation', '--data', dirs.sim, '--embeddings', dirs.kge, '--triples', dirs.triples, '--eval-days', String(opts.evalDays), '--seed', seed, '--out', dirs.rank] },
  ];
}

export function register(program: Command): void {
  program
    .command('pipeline')
    .description(
      'Run the main job end to end: simulate → ingest → snapshot (training days only) → train KGE → ranking ablation on the held-out days',
    )
    .option('--out <dir>', 'working directory for every artefact', '.adkg/pipeline')
    .option('--store <store>', 'graph store: memory (embedded, default) or neo4j (NEO4J_URI)', parseChoice('--store', ['memory', 'neo4j'] as const), 'memory')
    .option('--users <n>', 'simulated users', parseIntOption('--users', 1), 2000)
    .option('--pins <n>', 'simulated promoted pins', parseIntOption('--pins', 1), 500)
    .option('--advertisers <n>', 'simulated advertisers', parseIntOption('--advertisers', 1), 50)
    .option('--days <n>', 'simulated days', parseIntOption('--days', 2), 14)
    .option('--eval-days <n>', 'last days held out for ranking evaluation (never seen by KGE)', parseIntOption('--eval-days', 1), 2)
    .option('--seed <n>', 'random seed for every step', parseIntOption('--seed', 0), 7)
    .option('--model <model>', 'KGE model', parseChoice('--model', ['transe', 'transr', 'transra'] as const), 'transra')
    .option('--backend <b>', 'KGE backend: auto (cuda with a device, else native if built, else js), js, native, cuda', parseChoice('--backend', ['auto', 'js', 'native', 'cuda'] as const), 'auto')
    .option('--epochs <n>', 'KGE epochs (default: the model default)', parseIntOption('--epochs', 1))
    .option('--namespace <name>', 'with --store neo4j, the Neo4j namespace to ingest into (default: pipe<hash of the simulated world>, one per world, so that worlds never mix)')
    .action((opts: PipelineOptions) => {
      if (opts.namespace !== undefined && opts.store !== 'neo4j') throw new Error('--namespace is for --store neo4j');
      if (opts.namespace !== undefined) labelsFor(opts.namespace); // a bad name is refused before the world is simulated
      if (opts.evalDays >= opts.days) throw new Error(`--eval-days (${opts.evalDays}) must be smaller than --days (${opts.days})`);
      const backend = resolveBackend(opts.backend, (m) => process.stderr.write(`pipeline: ${m}\n`));
      const out = path.resolve(opts.out);
      fs.mkdirSync(out, { recursive: true });
      const sim = path.join(out, 'sim');
      const db = path.join(out, 'graph.jsonl');
      const triples = path.join(out, 'triples');
      const kge = path.join(out, 'kge');
      const rank = path.join(out, 'rank');
      const seed = String(opts.seed);
      step('simulate', ['simulate', '--users', String(opts.users), '--pins', String(opts.pins), '--advertisers', String(opts.advertisers), '--days', String(opts.days), '--seed', seed, '--out', sim]);
      const manifest = JSON.parse(fs.readFileSync(path.join(sim, 'manifest.json'), 'utf8')) as { start: string; days: number };
      // KGE sees only the training days, so the ranking evaluation days stay unseen (no leakage).
      const trainEnd = addDays(manifest.start, manifest.days - opts.evalDays);

      if (opts.store === 'memory') fs.rmSync(db, { force: true });
      const namespace = opts.store === 'neo4j' ? opts.namespace ?? worldNamespace(sim) : null;
      if (namespace) process.stderr.write(`pipeline: Neo4j namespace ${namespace}\n`);
      for (const s of pipelineSteps(opts, backend, { sim, db, triples, kge, rank }, trainEnd, namespace)) step(s.title, s.args);
      process.stderr.write(`\npipeline done: artefacts in ${out}\n`);
    });
}
