/**
 * Ranking bench: the ablation ladder on simulated worlds with real KGE embeddings.
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/rank.js [--users N] [--days N] \
 *     [--eval-days N] [--kge transr|transe] [--kge-dim N] [--kge-epochs N] [--kge-backend js|native] [--epochs N] [--offsite both|tokens|features|none] \
 *     [--world-seeds LIST] [--model-seeds LIST] [--variants LIST] [--cache DIR] [--ensemble K]
 * LIST: `1-7`, `1,3,5` or a mix. --world-seeds: simulator seeds (default 1, the simulator's default world).
 * --model-seeds: each seed S seeds the model's initialisation, the shuffling and the contrastive pretraining,
 * as `adkg rank ablation --seed S`; without it the library defaults (42, 3, 7) run, as before this option
 * (the LID tables' initial values do not depend on it). --variants: a subset of ids,kge-frozen,lid-init,attention
 * (ids is added when missing: the shares are measured from it). --cache DIR keeps each world in DIR/w<seed>
 * and reuses it when complete and built with the same --users/--days/--eval-days/--kge*; without it one tmp dir
 * is rebuilt per world and removed at the end. The attention variant reads the users' offsite neighbours from
 * the same snapshot the KGE was trained on. --ensemble K: K models per variant (seeds S … S+K−1), probabilities
 * averaged (`adkg rank --ensemble`).
 * Stdout: per (world, model seed) run one line with each variant's CTR and CVR AUC, its share of the ids→oracle
 * gap and the oracle's AUC; then the summary over runs (share mean ± sd, min, pooled, AUC gain over ids); last a
 * JSON line `{ ..., runs, summary }`. With one world and one model seed, stdout also has the ablation table first and
 * the JSON keeps the single-run fields (variants, oracle, trainImpressions, ...) at its top level as before.
 * Stderr: progress, the ablation table of each run (when several) and per-variant throughput.
 */
import { InvalidArgumentError } from 'commander';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatAblation } from '../src/cli/commands/rank';
import { parseChoice } from '../src/cli/options';
import { readTripleSet } from '../src/common/triple-set';
import { ExperimentOptions, OFFSITE_USES, OffsiteUse, VARIANTS, buildRankingContext, readEmbeddingExport, readImpressions, runAblation } from '../src/ranking';
import { PipelineResult, simulatedWorldWithEmbeddings } from '../test/ranking-pipeline';
import { OptionError, RunAucs, formatRunLine, formatSummary, parseSeedList, parseVariantList, runShares, summarizeRuns } from './rank-summary';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new OptionError(`--${name} needs a value`);
  return v;
}

/** What makes a world; a cached world is reused only when its marker holds the same. */
interface WorldParams {
  seed: number;
  users: number;
  days: number;
  evalDays: number;
  kge: { model: 'transr'; dim: number; epochs: number; backend: 'native' };
}

/** Written last into a cached world's dir, so its presence means the world is complete. */
const WORLD_MARKER = 'bench-world.json';

interface WorldMarker {
  params: WorldParams;
  /** Relative to the world's dir, so the cache can move. */
  dirs: { data: string; embeddings: string; triples: string };
  triples: number;
  kgeSeconds: number;
  evalStart: number;
}

async function readMarker(dir: string): Promise<WorldMarker | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, WORLD_MARKER), 'utf8')) as WorldMarker;
  } catch {
    return null;
  }
}

async function buildOrReuseWorld(dir: string, params: WorldParams, cache: boolean, log: (m: string) => void): Promise<{ p: PipelineResult; cached: boolean }> {
  if (cache) {
    const m = await readMarker(dir);
    if (m && JSON.stringify(m.params) === JSON.stringify(params)) {
      const p = { dataDir: path.join(dir, m.dirs.data), embeddingsDir: path.join(dir, m.dirs.embeddings), triplesDir: path.join(dir, m.dirs.triples), triples: m.triples, kgeSeconds: m.kgeSeconds, evalStart: m.evalStart };
      log(`world ${params.seed}: reusing ${dir}`);
      return { p, cached: true };
    }
    log(`world ${params.seed}: ${m ? `${dir} was built with ${JSON.stringify(m.params)}; rebuilding` : `building in ${dir}`}`);
  } else {
    log(`world ${params.seed}: building in ${dir}`);
  }
  const { seed, users, days, evalDays, kge } = params;
  const p = await simulatedWorldWithEmbeddings(dir, { sim: { users, days, seed }, evalDays, kge, log: (msg) => log(`world ${seed}: ${msg}`) });
  if (cache) {
    const rel = (d: string) => path.relative(dir, d);
    const marker: WorldMarker = { params, dirs: { data: rel(p.dataDir), embeddings: rel(p.embeddingsDir), triples: rel(p.triplesDir) }, triples: p.triples, kgeSeconds: p.kgeSeconds, evalStart: p.evalStart };
    await fs.writeFile(path.join(dir, WORLD_MARKER), JSON.stringify(marker, null, 2) + '\n');
  }
  return { p, cached: false };
}

/** A model seed as `adkg rank ablation --seed S` applies it; null keeps the library defaults. */
function experiment(offsite: OffsiteUse, epochs: number, ensemble: number, seed: number | null, log: (m: string) => void): ExperimentOptions {
  if (seed === null) return { model: { offsite }, train: { epochs }, ensemble, log };
  return { model: { offsite, seed }, train: { epochs, seed }, contrastive: { seed }, ensemble, log };
}

async function main(): Promise<void> {
  const log = (m: string) => process.stderr.write(m + '\n');
  // Parse every option before the first 3-minute world build.
  const evalDays = Number(arg('eval-days', '2'));
  const users = Number(arg('users', '2000'));
  const days = Number(arg('days', '14'));
  const epochs = Number(arg('epochs', '2'));
  const ensemble = Number(arg('ensemble', '1'));
  if (!Number.isInteger(ensemble) || ensemble < 1) throw new InvalidArgumentError(`--ensemble must be an integer ≥ 1, got "${arg('ensemble', '')}"`);
  const kge = { model: arg('kge', 'transr') as 'transr', dim: Number(arg('kge-dim', '32')), epochs: Number(arg('kge-epochs', '30')), backend: arg('kge-backend', 'native') as 'native' };
  const offsite = parseChoice('--offsite', OFFSITE_USES)(arg('offsite', 'both'));
  const worldSeeds = parseSeedList('--world-seeds', arg('world-seeds', '1'));
  const modelSeeds: (number | null)[] = process.argv.includes('--model-seeds') ? parseSeedList('--model-seeds', arg('model-seeds', '')) : [null];
  const { variants, added } = parseVariantList('--variants', arg('variants', VARIANTS.join(',')), VARIANTS, 'ids');
  if (added) log('--variants: ids added (the shares are measured from it)');
  const cacheDir = process.argv.includes('--cache') ? path.resolve(arg('cache', '')) : null;
  const tmpDir = path.join(os.tmpdir(), `adkg-bench-rank-${process.pid}`);
  const single = worldSeeds.length === 1 && modelSeeds.length === 1;

  const t0 = performance.now();
  const runs: Record<string, unknown>[] = [];
  const aucs: RunAucs[] = [];
  try {
    for (const [wi, seed] of worldSeeds.entries()) {
      log(`world ${seed} (${wi + 1} of ${worldSeeds.length})`);
      const dir = cacheDir ? path.join(cacheDir, `w${seed}`) : tmpDir;
      const { p, cached } = await buildOrReuseWorld(dir, { seed, users, days, evalDays, kge }, cacheDir !== null, log);
      const graph = { set: await readTripleSet(p.triplesDir), dir: p.triplesDir };
      const ctx = buildRankingContext(await readImpressions(p.dataDir), await readEmbeddingExport(p.embeddingsDir), { evalDays, graph });
      log(`world ${seed}: train ${ctx.split.train.length}, eval ${ctx.split.eval.length} impressions; offsite edges ${ctx.offsite?.edges} of ${ctx.offsite?.users} users`);
      for (const modelSeed of modelSeeds) {
        const label = `world ${seed} model seed ${modelSeed ?? 'default'}`;
        const tr = performance.now();
        const r = await runAblation(ctx, experiment(offsite, epochs, ensemble, modelSeed, (m) => log(`${label}: ${m}`)), variants);
        (single ? (m: string) => process.stdout.write(m + '\n') : log)(formatAblation(r));
        for (const v of r.variants) {
          const pr = v.train.profile;
          log(`${label}: ${v.variant}: ${v.samplesPerSecond.toFixed(0)} samples/s; dense (tfjs ${v.backend}) ${(pr.denseMs / 1000).toFixed(1)} s, sparse (JS tables) ${(pr.sparseMs / 1000).toFixed(1)} s; ${JSON.stringify(v.facts)}`);
        }
        const run: RunAucs = { variants: r.variants.map((v) => ({ variant: v.variant, ctr: v.ctr.auc, cvr: v.cvr.auc })), oracle: r.oracle ? { ctr: r.oracle.ctr.auc, cvr: r.oracle.cvr.auc } : null };
        aucs.push(run);
        process.stdout.write(formatRunLine(label, run) + '\n');
        const v0 = r.variants[0];
        runs.push({
          worldSeed: seed,
          modelSeed,
          cachedWorld: cached,
          trainImpressions: ctx.split.train.length,
          evalImpressions: ctx.split.eval.length,
          evalClicks: v0?.ctr.positives,
          evalConversions: v0?.cvr.positives,
          kgeTriples: p.triples,
          kgeSeconds: Number(p.kgeSeconds.toFixed(1)),
          offsite: { use: offsite, edges: ctx.offsite?.edges, users: ctx.offsite?.users },
          variants: r.variants.map((v) => ({
            variant: v.variant,
            ctr: { auc: v.ctr.auc, logloss: v.ctr.logloss, aucSparse: v.ctr.aucSparse },
            cvr: { auc: v.cvr.auc, logloss: v.cvr.logloss, aucSparse: v.cvr.aucSparse },
            samplesPerSecond: Math.round(v.samplesPerSecond),
            denseShare: Number((v.train.profile.denseMs / (v.train.profile.denseMs + v.train.profile.sparseMs)).toFixed(3)),
          })),
          oracle: run.oracle,
          shares: runShares(run),
          seconds: Number(((performance.now() - tr) / 1000).toFixed(1)),
        });
      }
    }
  } finally {
    if (!cacheDir) await fs.rm(tmpDir, { recursive: true, force: true });
  }
  const summary = summarizeRuns(aucs);
  process.stdout.write(formatSummary(summary, aucs.length) + '\n');
  const first = runs[0];
  const legacy = single
    ? { trainImpressions: first.trainImpressions, evalImpressions: first.evalImpressions, kgeTriples: first.kgeTriples, kgeSeconds: first.kgeSeconds, offsite: first.offsite, variants: first.variants, oracle: first.oracle }
    : {};
  const out = {
    bench: 'rank-ablation',
    users,
    days,
    evalDays,
    ...legacy,
    epochs,
    worldSeeds,
    modelSeeds,
    runs,
    summary,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  if (e instanceof OptionError || e instanceof InvalidArgumentError) {
    process.stderr.write(`bench/rank: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`bench/rank: ${(e as Error).stack}\n`);
  process.exit(1);
});
