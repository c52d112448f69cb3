/** The KGE engine: TransE, TransR and TransRA on js/native/cuda backends, evaluation and export. */
export * from './backends';
export * from './model';
export * from './training';
export * from './evaluation';
export * from './export';
export { buildSamplingTables, epochPermutation, relationChunkedOrder, sampleNegatives } from './sampling';
export { interactionFor } from './interactions';
export { progressBar } from './progress';
