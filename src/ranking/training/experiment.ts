/** One variant end to end (build, train, evaluate), and the ablation ladder over a shared context. */
import { initDenseBackend } from '../towers/backend';
import { EvalMetrics, evaluatePredictions, oracleMetrics } from '../evaluation/evaluate';
import { ContrastiveFacet, ContrastiveOptions, pretrainUserPinContrastive } from '../pretraining/contrastive';
import { ModelOptions, RankingModel, VARIANTS, Variant } from '../ranking-model';
import { RankingContext } from './context';
import { TrainOptions, TrainStats, predict, trainModel } from './trainer';
import { saveRankingModel } from './save';

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
  /** Writes the trained model there (runVariant only). */
  saveDir?: string;
  log?: (msg: string) => void;
}

/** Facet 2 on the training days only; shared by the variants that use it (each inits its own table). */
export function contrastiveFacet(ctx: RankingContext, opts: ExperimentOptions): ContrastiveFacet | null {
  if (opts.noContrastive) return null;
  return pretrainUserPinContrastive(ctx.cols, ctx.split.train, opts.contrastive);
}

export async function runVariant(ctx: RankingContext, variant: Variant, facet2: ContrastiveFacet | null, opts: ExperimentOptions = {}): Promise<VariantResult> {
  const backend = await initDenseBackend(undefined, opts.log);
  const model = new RankingModel(variant, ctx, variant === 'lid-init' || variant === 'attention' ? facet2 : null, opts.model);
  try {
    const train = trainModel(model, ctx, opts.train);
    const { pCtr, pCvr } = predict(model, ctx, ctx.split.eval);
    const m = evaluatePredictions(ctx, pCtr, pCvr);
    if (opts.saveDir) await saveRankingModel(opts.saveDir, model, ctx);
    return { variant, ...m, samplesPerSecond: train.samplesPerSecond, train, backend, facts: model.facts };
  } finally {
    model.dispose();
  }
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
