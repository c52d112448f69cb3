/**
 * Ranking bench: the ablation ladder on a simulated world with real KGE embeddings.
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/rank.js [--users N] [--days N] \
 *     [--eval-days N] [--kge transr|transe] [--kge-dim N] [--kge-epochs N] [--kge-backend js|native] [--epochs N] [--offsite both|tokens|features|none]
 * The attention variant reads the users' offsite neighbours from the same snapshot the KGE was trained on.
 * Prints the ablation table (stderr: progress) and a final JSON line.
 */
import * as os from 'os';
import * as path from 'path';
import { formatAblation } from '../src/cli/commands/rank';
import { parseChoice } from '../src/cli/options';
import { readTripleSet } from '../src/common/triple-set';
import { OFFSITE_USES, buildRankingContext, readEmbeddingExport, readImpressions, runAblation } from '../src/ranking';
import { simulatedWorldWithEmbeddings } from '../test/ranking-pipeline';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main(): Promise<void> {
  const log = (m: string) => process.stderr.write(m + '\n');
  const evalDays = Number(arg('eval-days', '2'));
  const users = Number(arg('users', '2000'));
  const days = Number(arg('days', '14'));
  const dir = path.join(os.tmpdir(), `adkg-bench-rank-${process.pid}`);
  const t0 = performance.now();
  const p = await simulatedWorldWithEmbeddings(dir, {
    sim: { users, days },
    evalDays,
    kge: { model: arg('kge', 'transr') as 'transr', dim: Number(arg('kge-dim', '32')), epochs: Number(arg('kge-epochs', '30')), backend: arg('kge-backend', 'native') as 'native' },
    log,
  });
  const graph = { set: await readTripleSet(p.triplesDir), dir: p.triplesDir };
  const ctx = buildRankingContext(await readImpressions(p.dataDir), await readEmbeddingExport(p.embeddingsDir), { evalDays, graph });
  log(`ranking: train ${ctx.split.train.length}, eval ${ctx.split.eval.length} impressions; offsite edges ${ctx.offsite?.edges} of ${ctx.offsite?.users} users`);
  const offsite = parseChoice('--offsite', OFFSITE_USES)(arg('offsite', 'both'));
  const r = await runAblation(ctx, { model: { offsite }, train: { epochs: Number(arg('epochs', '2')) }, log });
  process.stdout.write(formatAblation(r) + '\n');
  for (const v of r.variants) {
    const pr = v.train.profile;
    log(`${v.variant}: ${v.samplesPerSecond.toFixed(0)} samples/s; dense (tfjs ${v.backend}) ${(pr.denseMs / 1000).toFixed(1)} s, sparse (JS tables) ${(pr.sparseMs / 1000).toFixed(1)} s; ${JSON.stringify(v.facts)}`);
  }
  const out = {
    bench: 'rank-ablation',
    users,
    days,
    evalDays,
    trainImpressions: ctx.split.train.length,
    evalImpressions: ctx.split.eval.length,
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
    oracle: r.oracle ? { ctr: r.oracle.ctr.auc, cvr: r.oracle.cvr.auc } : null,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench/rank: ${(e as Error).stack}\n`);
  process.exit(1);
});
