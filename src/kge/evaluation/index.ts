export * from './filter-index';
export * from './link-prediction';
export * from './splits';
export * from './inductive';
