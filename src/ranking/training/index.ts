export { buildRankingContext, type RankingContext, type ContextOptions, type FeatureRows } from './context';
export { checkEmbeddingWindow, LeakageError } from './leakage';
export { trainModel, predict, type TrainOptions, type TrainStats } from './trainer';
export { runVariant, runAblation, contrastiveFacet, type VariantResult, type AblationResult, type ExperimentOptions } from './experiment';
export { clearStaleModels, saveRankingModel, RANKING_MODEL_FORMAT } from './save';
