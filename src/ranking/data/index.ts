export { readNpy, writeNpy, parseNpy, encodeNpy, firstNonFinite, type NpyArray, type NpyDtype } from './npy';
export { readImpressions, impressionColumns, findImpressionsFile, Vocabulary, type ImpressionColumns } from './impressions';
export { timeSplit, clickHistories, sparseUsers, DAY_MS, type TimeSplit } from './split';
export { readEmbeddingExport, entityRow, type EmbeddingSet } from './embedding-export';
export { offsiteNeighbours, offsiteFeatures, forEachImpressionState, standardizeFeatures, OFFSITE_RELATIONS, OFFSITE_FEATURES, type OffsiteNeighbours, type OffsiteState } from './offsite';
export { RankingInputError } from './ranking-input-error';
