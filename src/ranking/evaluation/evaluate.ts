/** Held-out evaluation: CTR on all evaluation impressions, CVR on the clicked ones; all users and sparse users. */
import { RankingContext } from '../training/context';
import { logLoss, rocAuc } from './metrics';

export interface TaskMetrics {
  auc: number | null;
  logloss: number | null;
  /** AUC on the impressions of sparse users (≤ 3 training impressions); null when a class is missing there. */
  aucSparse: number | null;
  samples: number;
  sparseSamples: number;
  /** Positive labels among them (AUC on few positives is noisy). */
  positives: number;
  sparsePositives: number;
}

export interface EvalMetrics {
  ctr: TaskMetrics;
  cvr: TaskMetrics;
}

function task(labels: number[], scores: number[], sparse: boolean[]): TaskMetrics {
  const sl: number[] = [];
  const ss: number[] = [];
  sparse.forEach((s, i) => s && (sl.push(labels[i]), ss.push(scores[i])));
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    auc: rocAuc(labels, scores),
    logloss: logLoss(labels, scores),
    aucSparse: rocAuc(sl, ss),
    samples: labels.length,
    sparseSamples: sl.length,
    positives: sum(labels),
    sparsePositives: sum(sl),
  };
}

/** Metrics of predictions (aligned with ctx.split.eval). */
export function evaluatePredictions(ctx: RankingContext, pCtr: ArrayLike<number>, pCvr: ArrayLike<number>): EvalMetrics {
  const { cols } = ctx;
  const ev = ctx.split.eval;
  const ctrL: number[] = [], ctrS: number[] = [], ctrSp: boolean[] = [];
  const cvrL: number[] = [], cvrS: number[] = [], cvrSp: boolean[] = [];
  ev.forEach((i, k) => {
    const sparse = ctx.sparseUser[cols.user[i]] === 1;
    ctrL.push(cols.click[i]);
    ctrS.push(pCtr[k]);
    ctrSp.push(sparse);
    if (cols.click[i] === 1) {
      cvrL.push(cols.conversion[i]);
      cvrS.push(pCvr[k]);
      cvrSp.push(sparse);
    }
  });
  return { ctr: task(ctrL, ctrS, ctrSp), cvr: task(cvrL, cvrS, cvrSp) };
}

/** The ceiling: metrics of the simulator's true probabilities, when the data carries them. */
export function oracleMetrics(ctx: RankingContext): EvalMetrics | null {
  const { cols } = ctx;
  if (!cols.pClick || !cols.pConvert) return null;
  const ev = ctx.split.eval;
  return evaluatePredictions(ctx, Array.from(ev, (i) => cols.pClick![i]), Array.from(ev, (i) => cols.pConvert![i]));
}
