/** `adkg rank`: CTR/CVR ranking with LID tables and the attention KGE finetuner (src/ranking, DESIGN §5). */
import { promises as fs } from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import {
  AblationResult,
  EvalMetrics,
  ExperimentOptions,
  RankingContext,
  OFFSITE_USES,
  OffsiteUse,
  VARIANTS,
  Variant,
  VariantResult,
  RANKING_MODEL_FORMAT,
  aucStandardError,
  buildRankingContext,
  contrastiveFacet,
  initDenseBackend,
  oracleMetrics,
  readEmbeddingExport,
  readImpressions,
  runAblation,
  runVariant,
} from '../../ranking';
import { readTripleSet } from '../../common/triple-set';
import { assertOutputFolder } from '../../common/output-folder';
import { parseChoice, parseFloatOption, parsePositiveFloatOption, parseIntOption } from '../options';

interface RankCliOptions {
  data: string;
  embeddings?: string;
  triples?: string;
  offsite: OffsiteUse;
  offsiteTokens: number;
  offsiteWide: boolean;
  evalDays: number;
  epochs: number;
  ensemble: number;
  batchSize: number;
  cvrMode: 'clicks' | 'esmm';
  sparseOptimizer: 'adagrad' | 'adam';
  sparseLr?: number;
  pretrainedLr?: number;
  denseLr: number;
  emaDecay: number;
  coldStartDropout: number;
  history: number;
  sharedTower?: boolean;
  kgeMinImpressions?: number;
  tableRows?: number;
  contrastive: boolean;
  allowUnknownWindow?: boolean;
  backend?: 'wasm' | 'cpu' | 'tensorflow';
  seed: number;
  json?: boolean;
  quiet?: boolean;
}

function withCommonOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--data <dir>', 'directory with truth.jsonl (adkg simulate) or impressions.jsonl (adkg dataset import), or one such file')
    .option('--embeddings <dir>', 'KGE embedding export (adkg train --out); its manifest window must end before the evaluation days')
    .option(
      '--triples <dir>',
      'graph snapshot (adkg snapshot --out) the embeddings were trained on; the attention variant reads the users\' offsite neighbours ' +
        '(PAGE_VISIT, ADD_TO_CART, CHECKOUT, SIGNUP, LEAD) from it; its window must end before the evaluation days',
    )
    .option('--offsite <use>', 'with --triples, what attention takes from the offsite edges: tokens (neighbour advertisers as keys/values), features (per user and relation: distinct advertisers, organic and ad-attributed events; opted in; per user and the candidate\'s advertiser: organic and attributed visits, carts, conversions), both, none', parseChoice('--offsite', OFFSITE_USES), 'both')
    .option('--no-offsite-wide', 'with offsite features, no linear path from them to the CVR logit (towers only)')
    .option('--offsite-tokens <n>', 'offsite neighbour tokens per user (deepest relations first)', parseIntOption('--offsite-tokens', 1), 16)
    .option('--eval-days <n>', 'evaluate on the last N calendar days (UTC); train on the days before', parseIntOption('--eval-days', 1), 2)
    .option('--epochs <n>', 'passes over the training impressions', parseIntOption('--epochs', 1), 2)
    .option('--batch-size <n>', 'impressions per training step', parseIntOption('--batch-size', 1), 512)
    .option('--ensemble <k>', 'train k models per variant (model and shuffle seeds seed … seed+k−1) and average their predicted probabilities', parseIntOption('--ensemble', 1), 1)
    .option('--cvr-mode <mode>', 'clicks: CVR learned on clicked impressions; esmm: pCTR·pCVR fit to conversions on all impressions', parseChoice('--cvr-mode', ['clicks', 'esmm'] as const), 'clicks')
    .option('--sparse-optimizer <kind>', 'row-wise optimizer of the LID tables', parseChoice('--sparse-optimizer', ['adagrad', 'adam'] as const), 'adagrad')
    .option('--sparse-lr <x>', 'learning rate of the id tables (default 0.05 adagrad, 0.005 adam)', parsePositiveFloatOption('--sparse-lr'))
    .option('--pretrained-lr <x>', 'learning rate of the KGE- and facet-2-initialised tables (default sparse-lr / 25)', parsePositiveFloatOption('--pretrained-lr'))
    .option('--dense-lr <x>', 'Adam learning rate of the dense towers', parsePositiveFloatOption('--dense-lr'), 0.003)
    .option('--ema-decay <x>', 'the trained dense weights are their exponential moving average with this decay over the steps (0: the last step\'s weights)', parseFloatOption('--ema-decay', 0, 0.9999), 0.99)
    .option('--cold-start-dropout <p>', 'share of training impressions shown without the user\'s KGE and facet-2 rows and click history, as a cold-start user\'s are (0: none)', parseFloatOption('--cold-start-dropout', 0, 0.99), 0.1)
    .option('--history <n>', 'recent clicks per user the attention finetuner sees', parseIntOption('--history', 1), 10)
    .option('--kge-min-impressions <n>', 'users and pins with fewer training impressions get zero KGE vectors (default 4; 0 for transra exports)', parseIntOption('--kge-min-impressions', 0))
    .option('--shared-tower', 'one dense tower shared by CTR and CVR (default: one tower per task)')
    .option('--table-rows <n>', 'rows per id table (default: one per id seen in training); a larger id space is hashed into them, a smaller one leaves rows unused', parseIntOption('--table-rows', 1))
    .option('--no-contrastive', 'skip facet 2 (user–pin contrastive pretraining) in lid-init and attention')
    .option('--allow-unknown-window', 'accept embeddings or a graph snapshot whose manifest does not say when their data ends')
    .option('--backend <name>', 'tfjs backend for the dense part (default: tensorflow if tfjs-node is installed, else wasm, else cpu)', parseChoice('--backend', ['wasm', 'cpu', 'tensorflow'] as const))
    .option('--seed <n>', 'seed of initialisation and shuffling', parseIntOption('--seed', 0), 42)
    .option('--json', 'print a JSON summary as the last line of stdout')
    .option('--quiet', 'no progress (the bar on a terminal, a line every 30 s in a log) and no dataset summary lines');
}

async function prepare(o: RankCliOptions, needEmbeddings: boolean): Promise<{ ctx: RankingContext; exp: ExperimentOptions; backend: string }> {
  if (needEmbeddings && !o.embeddings) throw new Error('--embeddings <dir> is required (a KGE export from adkg train)');
  const log = (m: string) => process.stderr.write(m + '\n');
  const backend = await initDenseBackend(o.backend, log);
  const cols = await readImpressions(o.data);
  const emb = o.embeddings ? await readEmbeddingExport(o.embeddings) : null;
  const graph = o.triples ? { set: await readTripleSet(o.triples), dir: o.triples } : undefined;
  const ctx = buildRankingContext(cols, emb, {
    evalDays: o.evalDays,
    historyLength: o.history,
    tableRows: o.tableRows,
    allowUnknownWindow: o.allowUnknownWindow,
    graph,
    offsiteTokens: o.offsiteTokens,
  });
  const exp: ExperimentOptions = {
    model: { taskTowers: !o.sharedTower, kgeMinImpressions: o.kgeMinImpressions, sparseOptimizer: o.sparseOptimizer, sparseLearningRate: o.sparseLr, pretrainedLearningRate: o.pretrainedLr, cvrMode: o.cvrMode, offsite: o.offsite, offsiteWide: o.offsiteWide, seed: o.seed },
    train: { epochs: o.epochs, batchSize: o.batchSize, denseLearningRate: o.denseLr, emaDecay: o.emaDecay, coldStartDropout: o.coldStartDropout, seed: o.seed },
    contrastive: { seed: o.seed },
    noContrastive: !o.contrastive,
    ensemble: o.ensemble,
  };
  if (!o.quiet) {
    log(
      `rank: ${cols.n} impressions from ${cols.source}; train ${ctx.split.train.length}, evaluate ${ctx.split.eval.length} ` +
        `(from ${new Date(ctx.split.evalStart).toISOString()}); ${cols.users.size} users, ${cols.pins.size} pins; dense backend ${backend}`,
    );
  }
  if (graph) {
    const off = ctx.offsite!;
    if (!o.quiet) log(`rank: offsite: ${off.edges} edges of ${off.users} of the data's users from ${graph.dir}`);
    // Warnings whatever --quiet: attention would train on nothing, or on another graph than the embeddings'.
    if (off.edges === 0) log(`rank: warning: ${graph.dir} has no offsite edge of the data's users; the attention variant gets no offsite tokens or features from it`);
    const trainedOn = emb?.manifest.data.path;
    if (trainedOn && path.resolve(trainedOn) !== path.resolve(graph.dir)) {
      log(`rank: warning: --triples ${graph.dir} is not the snapshot the embeddings were trained on (${trainedOn})`);
    }
  }
  return { ctx, exp, backend };
}

/** Seconds between progress lines when stderr is not a terminal (a log file, CI). */
const PROGRESS_LINE_SECONDS = 30;

function progress(o: RankCliOptions, label: string): { onProgress?: (d: number, t: number) => void; stop: () => void } {
  if (o.quiet) return { stop: () => undefined };
  if (!process.stderr.isTTY) {
    // No bar in a log: a line every PROGRESS_LINE_SECONDS, so a long training is seen to be alive.
    const t0 = Date.now();
    let last = t0;
    return {
      onProgress: (d, t) => {
        const now = Date.now();
        if (now - last < PROGRESS_LINE_SECONDS * 1000) return;
        last = now;
        process.stderr.write(`${label}: ${d}/${t} impressions (${((now - t0) / 1000).toFixed(0)} s)\n`);
      },
      stop: () => undefined,
    };
  }
  const bar = new SingleBar({ format: `${label.padEnd(10)} [{bar}] {value}/{total} impressions`, stream: process.stderr });
  let started = false;
  return {
    onProgress: (d, t) => {
      if (!started) (bar.start(t, 0), (started = true));
      bar.update(d);
    },
    stop: () => started && bar.stop(),
  };
}

const f = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

function summary(r: VariantResult) {
  const t = (m: VariantResult['ctr']) => ({ auc: m.auc, logloss: m.logloss, aucSparse: m.aucSparse });
  return { variant: r.variant, ctr: t(r.ctr), cvr: t(r.cvr), samplesPerSecond: Math.round(r.samplesPerSecond) };
}

function oracleSummary(m: EvalMetrics | null) {
  return m ? { ctr: { auc: m.ctr.auc, logloss: m.ctr.logloss, aucSparse: m.ctr.aucSparse }, cvr: { auc: m.cvr.auc, logloss: m.cvr.logloss, aucSparse: m.cvr.aucSparse } } : null;
}

/** The ablation table, with how much of the ids→oracle gap each variant closes. */
export function formatAblation(r: AblationResult): string {
  const head = ['variant', 'CTR AUC', 'CTR logloss', 'CTR AUC sparse', 'CVR AUC', 'CVR logloss', 'CVR AUC sparse', 'train samples/s'];
  const rows = r.variants.map((v) => [v.variant, f(v.ctr.auc), f(v.ctr.logloss), f(v.ctr.aucSparse), f(v.cvr.auc), f(v.cvr.logloss), f(v.cvr.aucSparse), v.samplesPerSecond.toFixed(0)]);
  if (r.oracle) rows.push(['oracle', f(r.oracle.ctr.auc), f(r.oracle.ctr.logloss), f(r.oracle.ctr.aucSparse), f(r.oracle.cvr.auc), f(r.oracle.cvr.logloss), f(r.oracle.cvr.aucSparse), '']);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  const out = [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)];
  const v0 = r.variants[0];
  if (v0) {
    out.push(`evaluation: CTR on ${v0.ctr.samples} impressions, ${v0.ctr.positives} clicks (sparse users: ${v0.ctr.sparseSamples}, ${v0.ctr.sparsePositives}); CVR on ${v0.cvr.samples} clicks, ${v0.cvr.positives} conversions (sparse users: ${v0.cvr.sparseSamples}, ${v0.cvr.sparsePositives})`);
    // How much an AUC moves by chance at these counts, so that a 0.002 gap on 149 conversions is not read as a gain.
    const se = (m: VariantResult['ctr'], sparse: boolean) => {
      const auc = sparse ? m.aucSparse : m.auc, pos = sparse ? m.sparsePositives : m.positives, n = sparse ? m.sparseSamples : m.samples;
      return auc === null ? null : aucStandardError(auc, pos, n - pos);
    };
    out.push(`AUC standard error at these counts (Hanley–McNeil, at the ${v0.variant} variant's AUC): CTR ±${f(se(v0.ctr, false))}, CVR ±${f(se(v0.cvr, false))}; sparse users CTR ±${f(se(v0.ctr, true))}, CVR ±${f(se(v0.cvr, true))}`);
  }
  const ids = r.variants.find((v) => v.variant === 'ids');
  if (ids && r.oracle) {
    for (const v of r.variants.filter((x) => x.variant !== 'ids')) {
      const gap = (task: 'ctr' | 'cvr') => {
        const o = r.oracle![task].auc, b = ids[task].auc, a = v[task].auc;
        return o === null || b === null || a === null || o <= b ? '—' : `${((100 * (a - b)) / (o - b)).toFixed(0)}%`;
      };
      out.push(`${v.variant}: ΔAUC vs ids CTR ${f((v.ctr.auc ?? NaN) - (ids.ctr.auc ?? NaN))}, CVR ${f((v.cvr.auc ?? NaN) - (ids.cvr.auc ?? NaN))}; closes ${gap('ctr')} (CTR) and ${gap('cvr')} (CVR) of the ids→oracle gap`);
    }
  }
  return out.join('\n');
}

/**
 * Before anything is read or trained: --out must not be an input folder, nor hold another artefact (a manifest.json:
 * ranking writes model.json, result.json and ablation.json, never a manifest), whose folder it would fill with its files.
 */
async function assertRankOut(o: RankCliOptions, out: string): Promise<void> {
  const inputs = [{ option: '--data', dir: o.data }, ...(o.embeddings ? [{ option: '--embeddings', dir: o.embeddings }] : []), ...(o.triples ? [{ option: '--triples', dir: o.triples }] : [])];
  await assertOutputFolder(out, RANKING_MODEL_FORMAT, { inputs });
}

async function writeResult(dir: string, name: string, value: unknown): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, name), JSON.stringify(value, null, 2) + '\n');
}

export function register(program: Command): void {
  const rank = program
    .command('rank')
    .description('CTR/CVR ranking: LID embedding tables (row-wise Adagrad/Adam), tfjs dense towers, KGE facets and the attention finetuner');

  withCommonOptions(
    rank
      .command('train')
      .description(
        'Train one variant on the days before the last --eval-days and evaluate on those days. Variants: ids (id tables only), ' +
          'kge-frozen (+ KGE vectors concatenated, frozen), lid-init (+ tables initialised from KGE and from user–pin contrastive ' +
          'pretraining, finetuned), attention (lid-init + the attention KGE finetuner; with --triples also the users\' offsite neighbours). Writes result.json (metrics) and the model (model.json, tables/*.npy, dense/*.npy, id maps) to --out; with --ensemble K, each member\'s model to --out/member-k.',
      )
      .requiredOption('--variant <name>', VARIANTS.join('|'), parseChoice('--variant', VARIANTS))
      .requiredOption('--out <dir>', 'output directory (result.json, model.json, tables/, dense/; member-k/ with --ensemble)'),
  ).action(async (o: RankCliOptions & { variant: Variant; out: string }) => {
    await assertRankOut(o, o.out);
    const { ctx, exp } = await prepare(o, o.variant !== 'ids');
    const bar = progress(o, o.variant);
    const facet2 = o.variant === 'lid-init' || o.variant === 'attention' ? contrastiveFacet(ctx, exp) : null;
    const r = await runVariant(ctx, o.variant, facet2, { ...exp, saveDir: o.out, train: { ...exp.train, onProgress: bar.onProgress } });
    bar.stop();
    const oracle = oracleMetrics(ctx);
    await writeResult(o.out, 'result.json', { ...r, oracle, embeddings: ctx.embeddings ? { dir: path.resolve(ctx.embeddings.dir), version: ctx.embeddings.manifest.version, window: ctx.embeddings.manifest.window } : null, evalStart: new Date(ctx.split.evalStart).toISOString() });
    // The result on stdout (as ablation's table), or on stderr when --json keeps stdout for the JSON line.
    (o.json ? process.stderr : process.stdout).write(
      `rank ${o.variant}: CTR AUC ${f(r.ctr.auc)} logloss ${f(r.ctr.logloss)}; CVR AUC ${f(r.cvr.auc)} logloss ${f(r.cvr.logloss)}; ` +
        `${r.samplesPerSecond.toFixed(0)} samples/s${oracle ? `; oracle AUC CTR ${f(oracle.ctr.auc)} CVR ${f(oracle.cvr.auc)}` : ''}\n`,
    );
    if (o.json) process.stdout.write(JSON.stringify({ ...summary(r), oracle: oracleSummary(oracle) }) + '\n');
  });

  withCommonOptions(
    rank
      .command('ablation')
      .description(
        'Train the ladder ids → kge-frozen → lid-init → attention on the same split and print one table: AUC and log-loss for ' +
          'CTR and CVR, on all users and on sparse users (≤ 3 training impressions), training samples/s, and the oracle AUC of ' +
          'the true probabilities when the data is the simulator\'s truth.jsonl. With --triples the attention variant also reads the users\' offsite neighbours.',
      )
      .option('--out <dir>', 'also write ablation.json there'),
  ).action(async (o: RankCliOptions & { out?: string }) => {
    if (o.out) await assertRankOut(o, o.out);
    const { ctx, exp } = await prepare(o, true);
    let bar: ReturnType<typeof progress> | null = null;
    const r = await runAblation(ctx, {
      ...exp,
      log: (m) => {
        bar?.stop();
        bar = progress(o, m.replace('ranking: training ', ''));
        if (!o.quiet && !process.stderr.isTTY) process.stderr.write(m + '\n'); // a terminal shows it on the bar
      },
      train: { ...exp.train, onProgress: (d, t) => bar?.onProgress?.(d, t) },
    });
    (bar as ReturnType<typeof progress> | null)?.stop();
    if (o.out) await writeResult(o.out, 'ablation.json', r);
    process.stdout.write(formatAblation(r) + '\n');
    if (o.json) process.stdout.write(JSON.stringify({ variants: r.variants.map(summary), oracle: oracleSummary(r.oracle) }) + '\n');
  });
}
