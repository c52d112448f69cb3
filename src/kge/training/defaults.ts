/**
 * Default hyper-parameters per model. Chosen to work across graphs (public benchmarks and ad
 * snapshots), not tuned to one: self-adversarial softplus loss (RotatE), independent negatives,
 * row-sparse Adagrad. docs/kge.md explains each choice and what it reaches.
 */
import type { ModelName, TrainConfig } from '../backends/backend';

export interface ModelDefaults {
  dim: number;
  relDim: number;
  epochs: number;
  batchSize: number;
  config: Omit<TrainConfig, 'seed' | 'threads'>;
}

// Bernoulli corruption and row-sparse Adagrad lr 0.05 come from FB15k-237 probes (docs/kge.md): TransE test MRR
// after 6 epochs 0.276 against 0.26 for Adagrad 0.1 / 0.02 and 0.17 for Adam 1e-2 (Adam 2e-3 reached 0.245 in 31
// epochs); TransR after 5 epochs 0.205 against 0.176 with Adam 2e-3 + uniform.
const common: Omit<TrainConfig, 'seed' | 'threads'> = {
  loss: 'softplus',
  margin: 9,
  adversarialTemperature: 1,
  norm: 'l1',
  negatives: 64,
  sampling: 'independent',
  chunkSize: 64,
  corruption: 'bernoulli',
  entityOptimizer: 'adagrad',
  relationOptimizer: 'adagrad',
  lr: 0.05,
  relationLr: 0.05,
  constraint: 'none',
  learnAnchorWeights: true,
};

/** Epochs and batch size given here are for a graph of FB15k-237's size; see defaultsForGraph. */
export const MODEL_DEFAULTS: Record<ModelName, ModelDefaults> = {
  transe: { dim: 200, relDim: 200, epochs: 30, batchSize: 1024, config: { ...common } },
  transr: { dim: 64, relDim: 64, epochs: 30, batchSize: 1024, config: { ...common } },
  transra: { dim: 64, relDim: 64, epochs: 30, batchSize: 1024, config: { ...common } },
};

/** About this many optimizer steps make a default run (FB15k-237: 30 epochs of 266 batches). */
export const DEFAULT_TARGET_STEPS = 8000;

export function defaultsFor(model: ModelName): ModelDefaults {
  const d = MODEL_DEFAULTS[model];
  return { ...d, config: { ...d.config } };
}

/**
 * Defaults scaled to the graph: batch ≈ train/50 within [128, 1024], and epochs so that a run takes
 * about DEFAULT_TARGET_STEPS steps, within [30, 300] — small graphs get smaller batches and more
 * epochs, large ones a fixed 30 epochs.
 */
export function defaultsForGraph(model: ModelName, trainTriples: number): ModelDefaults {
  const d = defaultsFor(model);
  const batchSize = Math.min(d.batchSize, Math.max(128, Math.round(trainTriples / 50)));
  const batchesPerEpoch = Math.max(1, Math.ceil(trainTriples / batchSize));
  const epochs = Math.min(300, Math.max(d.epochs, Math.ceil(DEFAULT_TARGET_STEPS / batchesPerEpoch)));
  return { ...d, batchSize, epochs };
}
