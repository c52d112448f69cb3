/**
 * Default hyper-parameters per model. Chosen to work across graphs (public benchmarks and ad
 * snapshots), not tuned to one: self-adversarial softplus loss (RotatE), shared negatives for speed,
 * row-sparse Adam. docs/kge.md explains each choice and what it reaches.
 */
import type { ModelName, TrainConfig } from '../backends/backend';

export interface ModelDefaults {
  dim: number;
  relDim: number;
  epochs: number;
  batchSize: number;
  config: Omit<TrainConfig, 'seed' | 'threads'>;
}

const common: Omit<TrainConfig, 'seed' | 'threads'> = {
  loss: 'softplus',
  margin: 9,
  adversarialTemperature: 1,
  norm: 'l1',
  negatives: 64,
  sampling: 'independent',
  chunkSize: 64,
  corruption: 'uniform',
  entityOptimizer: 'adam',
  relationOptimizer: 'adam',
  lr: 0.001,
  relationLr: 0.001,
  constraint: 'none',
  learnAnchorWeights: true,
};

export const MODEL_DEFAULTS: Record<ModelName, ModelDefaults> = {
  transe: { dim: 200, relDim: 200, epochs: 100, batchSize: 1024, config: { ...common } },
  transr: { dim: 100, relDim: 100, epochs: 100, batchSize: 1024, config: { ...common } },
  transra: { dim: 100, relDim: 100, epochs: 100, batchSize: 1024, config: { ...common } },
};

export function defaultsFor(model: ModelName): ModelDefaults {
  const d = MODEL_DEFAULTS[model];
  return { ...d, config: { ...d.config } };
}
