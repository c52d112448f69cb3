/** Dense towers: plain MLPs on tfjs variables (so the dense optimizer sees exactly these). */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../common/rng';

/** Glorot-uniform weight matrix as a trainable variable. */
export function glorot(rng: SeededRandom, rows: number, cols: number, name: string): tf.Variable {
  const limit = Math.sqrt(6 / (rows + cols));
  const v = new Float32Array(rows * cols);
  for (let i = 0; i < v.length; i++) v[i] = (rng.next() * 2 - 1) * limit;
  return tf.variable(tf.tensor2d(v, [rows, cols]), true, name);
}

let uid = 0;
/** Variable names are global in tfjs: several models live side by side in one process (the ablation). */
export function uniqueName(base: string): string {
  return `${base}_${++uid}`;
}

export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(rng: SeededRandom, readonly inDim: number, readonly outDim: number, name: string) {
    this.w = glorot(rng, inDim, outDim, uniqueName(`${name}_w`));
    this.b = tf.variable(tf.zeros([outDim]), true, uniqueName(`${name}_b`));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.w), this.b) as tf.Tensor2D;
  }
  get variables(): tf.Variable[] {
    return [this.w, this.b];
  }
}

/** ReLU MLP: inDim → hidden… → outDim; the last layer is linear unless `lastActivation`. */
export class Mlp {
  readonly layers: Dense[];
  constructor(rng: SeededRandom, inDim: number, sizes: number[], name: string, private readonly lastActivation = false) {
    this.layers = [];
    let d = inDim;
    sizes.forEach((s, i) => {
      this.layers.push(new Dense(rng, d, s, `${name}_${i}`));
      d = s;
    });
  }
  get outDim(): number {
    return this.layers[this.layers.length - 1].outDim;
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    this.layers.forEach((l, i) => {
      h = l.apply(h);
      if (i < this.layers.length - 1 || this.lastActivation) h = tf.relu(h);
    });
    return h;
  }
  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }
}
