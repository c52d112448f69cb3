/** Loaders of public datasets: KG benchmarks → TripleSet; ad logs → events + impressions (issue 3). */
export { importKgDataset, loadKgDataset, parseTripleFile, KG_DATASETS, PUBLISHED_KG_SIZES, INDEX_ORDER } from './kg';
export type { KgDatasetName, KgImportResult } from './kg';
export { importAdsDataset, ADS_DATASETS, ADS_EVENTS_FORMAT } from './ads';
export type { AdsDatasetName, AdsImportOptions, AdsManifest } from './ads';
export { DatasetFormatError, DatasetSourceError } from './errors';
export { readSourceFiles } from './source-files';
export type { SourceFile } from './source-files';
