/**
 * Multi-task heads: CTR on impressions; CVR either on clicks only ("clicks": the loss is masked to
 * clicked impressions) or ESMM ("esmm": pCTCVR = pCTR·pCVR is fit to conversions on all impressions,
 * so the CVR head is trained over the whole impression space, avoiding sample-selection bias).
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../common/rng';
import { Mlp } from '../towers/mlp';

export type CvrMode = 'clicks' | 'esmm';

export class CtrCvrHeads {
  readonly ctr: Mlp;
  readonly cvr: Mlp;
  constructor(rng: SeededRandom, inDim: number, readonly cvrMode: CvrMode, hidden = 16) {
    this.ctr = new Mlp(rng, inDim, [hidden, 1], 'ctr_head');
    this.cvr = new Mlp(rng, inDim, [hidden, 1], 'cvr_head');
  }
  get variables(): tf.Variable[] {
    return [...this.ctr.variables, ...this.cvr.variables];
  }
  /** Logits [B] of click and of conversion-given-click (from a shared tower output, or one per task). */
  apply(h: tf.Tensor2D, hCvr: tf.Tensor2D = h): { ctrLogit: tf.Tensor1D; cvrLogit: tf.Tensor1D } {
    return { ctrLogit: tf.squeeze(this.ctr.apply(h), [1]) as tf.Tensor1D, cvrLogit: tf.squeeze(this.cvr.apply(hCvr), [1]) as tf.Tensor1D };
  }
  /** Joint loss: CTR log-loss plus the CVR loss of the chosen mode. */
  loss(ctrLogit: tf.Tensor1D, cvrLogit: tf.Tensor1D, click: tf.Tensor1D, conversion: tf.Tensor1D): tf.Scalar {
    const ctrLoss = tf.losses.sigmoidCrossEntropy(click, ctrLogit) as tf.Scalar;
    if (this.cvrMode === 'esmm') {
      // log pCTCVR = log σ(a) + log σ(b); log(1 − pCTCVR) computed from it, clipped for stability.
      // log σ(x) = −softplus(−x); tf.logSigmoid's custom gradient reads a disposed input inside variableGrads.
      const logP = tf.neg(tf.add(tf.softplus(tf.neg(ctrLogit)), tf.softplus(tf.neg(cvrLogit))));
      const p = tf.clipByValue(tf.exp(logP), 1e-7, 1 - 1e-7);
      const ce = tf.neg(tf.add(tf.mul(conversion, tf.log(p)), tf.mul(tf.sub(1, conversion), tf.log(tf.sub(1, p)))));
      return tf.add(ctrLoss, tf.mean(ce)) as tf.Scalar;
    }
    const perSample = tf.losses.sigmoidCrossEntropy(conversion, cvrLogit, undefined, undefined, tf.Reduction.NONE);
    const clicked = tf.sum(click);
    const cvrLoss = tf.div(tf.sum(tf.mul(perSample, click)), tf.maximum(clicked, 1));
    return tf.add(ctrLoss, cvrLoss) as tf.Scalar;
  }
}
