export { LidTable, type LidTableConfig } from './lid-table';
export { RowOptimizer, PagedRows, type RowOptimizerConfig, type RowOptimizerKind } from './row-optimizer';
export { IdMapper, hashString } from './id-mapper';
export { initTableFromVectors } from './init';
