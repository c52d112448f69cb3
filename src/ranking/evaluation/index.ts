export { rocAuc, logLoss } from './metrics';
export { evaluatePredictions, oracleMetrics, type EvalMetrics, type TaskMetrics } from './evaluate';
