export * from './sampling-tables';
export * from './negative-sampler';
export * from './epoch-order';
