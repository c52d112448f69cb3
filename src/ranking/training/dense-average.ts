import * as tf from '@tensorflow/tfjs';

/**
 * Exponential moving average of dense weights, bias-corrected as Adam's moments are (the average starts at
 * zero and is divided by 1 − decayⁿ), so it never mixes in the initial weights and a short run is averaged
 * over what it did.
 */
export class DenseAverage {
  private readonly sums: tf.Variable[];
  private updates = 0;

  constructor(private readonly weights: tf.Variable[], private readonly decay: number) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`emaDecay must be in [0, 1), got ${decay}`);
    this.sums = decay > 0 ? weights.map((w) => tf.variable(tf.zerosLike(w), false)) : [];
  }

  update(): void {
    if (this.decay === 0) return;
    this.updates++;
    tf.tidy(() => this.sums.forEach((s, j) => s.assign(tf.add(tf.mul(s, this.decay), tf.mul(this.weights[j], 1 - this.decay)))));
  }

  /** Writes the averages into the weights (when there were updates) and frees the running sums. */
  assignToWeights(): void {
    const correction = 1 / (1 - Math.pow(this.decay, this.updates));
    if (this.updates > 0) tf.tidy(() => this.sums.forEach((s, j) => this.weights[j].assign(tf.mul(s, correction))));
    tf.dispose(this.sums);
    this.sums.length = 0;
  }
}
