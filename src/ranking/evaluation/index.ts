export { rocAuc, logLoss, aucStandardError } from './metrics';
export { evaluatePredictions, oracleMetrics, type EvalMetrics, type TaskMetrics } from './evaluate';
