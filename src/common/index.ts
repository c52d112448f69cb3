export * from './triple-set';
export * from './rng';
export * from './embedding-export';
export * from './impression';
export * from './config';
export * from './anchor-index';
