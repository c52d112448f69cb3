/** Ranking metrics: ROC AUC (Mann–Whitney, ties get the average rank) and log-loss. */
import { firstNonFinite } from '../data/npy';

/**
 * Throws when a score is NaN or ±Infinity: such a score has no rank and no likelihood, and the metric would come out
 * as a plausible ≈0.5 (AUC) or as NaN, which reads like "not computable" (null). One pass; `what` names the caller.
 */
function assertFiniteScores(what: string, kind: string, values: ArrayLike<number>): void {
  const i = firstNonFinite(values);
  if (i >= 0) {
    throw new Error(`${what}: ${kind} ${i} of ${values.length} is ${values[i]}, not a finite number; metrics need finite ${kind}s (a diverged model or non-finite inputs give NaN or Infinity)`);
  }
}

/** AUC of scores against 0/1 labels; null when only one class is present. Throws on a NaN or infinite score. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const n = labels.length;
  if (scores.length !== n) throw new Error(`rocAuc: ${n} labels but ${scores.length} scores`);
  assertFiniteScores('rocAuc', 'score', scores);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean binary cross-entropy of probabilities, clipped to [eps, 1-eps]; null for no samples. Throws on a NaN or infinite probability. */
export function logLoss(labels: ArrayLike<number>, probs: ArrayLike<number>, eps = 1e-7): number | null {
  const n = labels.length;
  if (probs.length !== n) throw new Error(`logLoss: ${n} labels but ${probs.length} probabilities`);
  assertFiniteScores('logLoss', 'probability', probs);
  if (n === 0) return null;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i]));
    s -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / n;
}

/** Picks the entries of an array where mask is true (for per-subset metrics). */
export function select<T extends Float32Array | Float64Array | Uint8Array>(arr: T, mask: ArrayLike<boolean | number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < arr.length; i++) if (mask[i]) out.push(arr[i]);
  return out;
}

/**
 * Standard error of an AUC from `positives` and `negatives` samples (Hanley & McNeil 1982, the exponential
 * approximation): how far two AUCs on this many samples may differ by chance. Two variants scored on the same
 * impressions are correlated, so their difference varies somewhat less. null when either class is empty.
 */
export function aucStandardError(auc: number, positives: number, negatives: number): number | null {
  if (positives <= 0 || negatives <= 0) return null;
  const q1 = auc / (2 - auc), q2 = (2 * auc * auc) / (1 + auc);
  const v = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives);
  return Math.sqrt(Math.max(0, v));
}
