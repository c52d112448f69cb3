/** Ranking layer (DESIGN §5): LID tables, tfjs towers, the attention KGE finetuner, CTR/CVR heads. */
export * from './tables';
export * from './data';
export * from './towers';
export * from './heads';
export * from './interaction';
export * from './pretraining';
export * from './evaluation';
export * from './training';
export { RankingModel, VARIANTS, OFFSITE_USES, type Variant, type OffsiteUse, type ModelOptions, type Slot, type DenseInput } from './ranking-model';
