export * from './filter-index';
export * from './link-prediction';
