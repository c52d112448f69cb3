/** One variant end to end (build, train, evaluate), and the ablation ladder over a shared context. */
import * as path from 'path';
import { initDenseBackend } from '../towers/backend';
import { EvalMetrics, evaluatePredictions, oracleMetrics } from '../evaluation/evaluate';
import { ContrastiveFacet, ContrastiveOptions, pretrainUserPinContrastive } from '../pretraining/contrastive';
import { ModelOptions, RankingModel, VARIANTS, Variant } from '../ranking-model';
import { RankingContext } from './context';
import { TrainOptions, TrainStats, predict, trainModel } from './trainer';
import { clearStaleModels, saveRankingModel } from './save';

export interface VariantResult extends EvalMetrics {
  variant: Variant;
  samplesPerSecond: number;
  train: TrainStats;
  backend: string;
  facts: Record<string, number | string>;
}

export interface ExperimentOptions {
  model?: ModelOptions;
  train?: TrainOptions;
  contrastive?: ContrastiveOptions;
  /** Disables facet 2 (contrastive pretraining) in lid-init and attention. */
  noContrastive?: boolean;
  /** Writes the trained model there (runVariant only); with an ensemble, member k to saveDir/member-k. */
  saveDir?: string;
  /**
   * Members per variant (default 1): each trained with its own model and shuffle seeds (seed + k), their
   * predicted probabilities averaged. The same for every variant, so the ladder stays a like-for-like comparison.
   */
  ensemble?: number;
  log?: (msg: string) => void;
}

/** Facet 2 on the training days only; shared by the variants that use it (each inits its own table). */
export function contrastiveFacet(ctx: RankingContext, opts: ExperimentOptions): ContrastiveFacet | null {
  if (opts.noContrastive) return null;
  return pretrainUserPinContrastive(ctx.cols, ctx.split.train, opts.contrastive);
}

export async function runVariant(ctx: RankingContext, variant: Variant, facet2: ContrastiveFacet | null, opts: ExperimentOptions = {}): Promise<VariantResult> {
  const backend = await initDenseBackend(undefined, opts.log);
  const members = opts.ensemble ?? 1;
  if (!Number.isInteger(members) || members < 1) throw new Error(`ensemble must be an integer ≥ 1, got ${members}`);
  const n = ctx.split.eval.length;
  const pCtr = new Float64Array(n);
  const pCvr = new Float64Array(n);
  const stats: TrainStats[] = [];
  let facts: Record<string, number | string> = {};
  for (let k = 0; k < members; k++) {
    const seeds = (o: { seed?: number } | undefined, def: number) => ({ ...o, seed: (o?.seed ?? def) + k });
    const model = new RankingModel(variant, ctx, variant === 'lid-init' || variant === 'attention' ? facet2 : null, seeds(opts.model, 42));
    try {
      // One progress run over all members, not one that starts again per member.
      const report = opts.train?.onProgress;
      const onProgress = report && ((done: number, total: number) => report(k * total + done, members * total));
      const t = trainModel(model, ctx, { ...seeds(opts.train, 3), onProgress });
      const p = predict(model, ctx, ctx.split.eval);
      for (let i = 0; i < n; i++) (pCtr[i] += p.pCtr[i] / members), (pCvr[i] += p.pCvr[i] / members);
      // What an earlier run of another ensemble size left goes once the first model is trained (a failure keeps it).
      if (opts.saveDir && k === 0) await clearStaleModels(opts.saveDir, members);
      if (opts.saveDir) await saveRankingModel(members > 1 ? path.join(opts.saveDir, `member-${k}`) : opts.saveDir, model, ctx);
      stats.push(t);
      if (k === 0) facts = { ...model.facts, ...(members > 1 ? { ensemble: members } : {}) };
    } finally {
      model.dispose();
    }
  }
  const m = evaluatePredictions(ctx, pCtr, pCvr);
  const train = combineStats(stats);
  return { variant, ...m, samplesPerSecond: train.samplesPerSecond, train, backend, facts };
}

/** Training stats of ensemble members together: samples and time added (samples/s stays per sample trained), losses averaged. */
function combineStats(all: TrainStats[]): TrainStats {
  if (all.length === 1) return all[0];
  const sum = (f: (t: TrainStats) => number) => all.reduce((a, t) => a + f(t), 0);
  const trainSamples = sum((t) => t.trainSamples);
  const seconds = sum((t) => t.seconds);
  return {
    trainSamples,
    seconds,
    samplesPerSecond: trainSamples / seconds,
    profile: { sparseMs: sum((t) => t.profile.sparseMs), denseMs: sum((t) => t.profile.denseMs) },
    lossPerEpoch: all[0].lossPerEpoch.map((_, e) => sum((t) => t.lossPerEpoch[e]) / all.length),
  };
}

export interface AblationResult {
  variants: VariantResult[];
  oracle: EvalMetrics | null;
  facet2: { pairs: number; epochLoss: number[] } | null;
}

export async function runAblation(ctx: RankingContext, opts: ExperimentOptions = {}, variants: readonly Variant[] = VARIANTS): Promise<AblationResult> {
  const facet2 = variants.some((v) => v === 'lid-init' || v === 'attention') ? contrastiveFacet(ctx, opts) : null;
  const results: VariantResult[] = [];
  for (const v of variants) {
    opts.log?.(`ranking: training ${v}`);
    results.push(await runVariant(ctx, v, facet2, opts));
  }
  return { variants: results, oracle: oracleMetrics(ctx), facet2: facet2 ? { pairs: facet2.pairs, epochLoss: facet2.epochLoss } : null };
}
