/** Ranking layer (DESIGN §5): LID tables, tfjs towers, the attention KGE finetuner, CTR/CVR heads. */
export * from './tables';
export * from './data';
export * from './towers';
export * from './heads';
export * from './interaction';
export * from './pretraining';
export * from './evaluation';
export * from './training';
export { RankingModel, VARIANTS, type Variant, type ModelOptions, type Slot } from './ranking-model';
