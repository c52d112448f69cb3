/**
 * The attention KGE finetuner (DESIGN §5). Query: the candidate pin's KGE vector with its
 * advertiser's. Keys/values: the user's KGE vector projected into each user→pin and
 * user→advertiser relation space, M_r·u + r ("how this user clicks, saves, checks out…"), the KGE
 * vectors of the user's recent clicks, and a learned null token (attend to nothing). Each relation
 * token's logit is biased by its TransR score −‖M_r u + r − M_r t‖² against the candidate (t = pin or
 * advertiser), and those scores join the pooled vector as the finetuner's output.
 * The KGE vectors come in as gathered rows of finetuned tables; M_r and r stay fixed.
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../../common/rng';
import { EmbeddingSet } from '../data/embedding-export';
import { glorot, uniqueName } from '../towers/mlp';

export const USER_PIN_RELATIONS = ['CLICKED', 'SAVED', 'CLOSEUP', 'HID', 'IMPRESSED'];
export const USER_ADVERTISER_RELATIONS = ['PAGE_VISIT', 'ADD_TO_CART', 'CHECKOUT', 'SIGNUP', 'LEAD'];

export interface RelationSpaces {
  names: string[];
  /** 1 where the relation's tail is a pin, 0 where an advertiser. */
  tailIsPin: number[];
  relDim: number;
  /** [d, R·k]: column block r holds M_rᵀ, so u·proj gives every M_r u at once. */
  proj: Float32Array;
  /** [R·k] relation vectors, scaled like the entity vectors. */
  offsets: Float32Array;
}

/** Picks the user→pin and user→advertiser relations of an export (by name, case-insensitive). */
export function relationSpaces(set: EmbeddingSet, entityScale: number): RelationSpaces {
  const names: string[] = [];
  const tailIsPin: number[] = [];
  const rows: number[] = [];
  set.relationNames.forEach((name, i) => {
    const up = name.toUpperCase();
    if (USER_PIN_RELATIONS.includes(up)) (names.push(name), tailIsPin.push(1), rows.push(i));
    else if (USER_ADVERTISER_RELATIONS.includes(up)) (names.push(name), tailIsPin.push(0), rows.push(i));
  });
  const d = set.dim;
  const k = set.relDim;
  const R = rows.length;
  const proj = new Float32Array(d * R * k);
  const offsets = new Float32Array(R * k);
  rows.forEach((rel, r) => {
    for (let i = 0; i < k; i++) {
      offsets[r * k + i] = set.relations[rel * k + i] * entityScale;
      for (let j = 0; j < d; j++) {
        const m = set.projections ? set.projections[(rel * k + i) * d + j] : i === j ? 1 : 0;
        proj[j * R * k + r * k + i] = m;
      }
    }
  });
  return { names, tailIsPin, relDim: k, proj, offsets };
}

export class AttentionFinetuner {
  readonly attnDim: number;
  private readonly R: number;
  private readonly k: number;
  private readonly proj: tf.Tensor2D | null;
  private readonly offsets: tf.Tensor1D | null;
  private readonly tailIsPin: tf.Tensor3D | null;
  private readonly wq: tf.Variable;
  private readonly wkRel: tf.Variable | null;
  private readonly wvRel: tf.Variable | null;
  private readonly relType: tf.Variable | null;
  private readonly scoreWeight: tf.Variable | null;
  private readonly wkHist: tf.Variable;
  private readonly wvHist: tf.Variable;
  private readonly nullKey: tf.Variable;
  private readonly nullValue: tf.Variable;

  constructor(rng: SeededRandom, readonly kgeDim: number, readonly spaces: RelationSpaces, attnDim = 32) {
    this.attnDim = attnDim;
    this.R = spaces.names.length;
    this.k = spaces.relDim;
    const d = kgeDim;
    const n = (b: string) => uniqueName(`attn_${b}`);
    this.wq = glorot(rng, 2 * d, attnDim, n('wq'));
    this.wkHist = glorot(rng, d, attnDim, n('wk_hist'));
    this.wvHist = glorot(rng, d, attnDim, n('wv_hist'));
    this.nullKey = tf.variable(tf.zeros([1, attnDim]), true, n('null_k'));
    this.nullValue = tf.variable(tf.zeros([1, attnDim]), true, n('null_v'));
    if (this.R > 0) {
      this.proj = tf.tensor2d(spaces.proj, [d, this.R * this.k]);
      this.offsets = tf.tensor1d(spaces.offsets);
      this.tailIsPin = tf.tensor3d(spaces.tailIsPin, [1, this.R, 1]);
      this.wkRel = glorot(rng, this.k, attnDim, n('wk_rel'));
      this.wvRel = glorot(rng, this.k, attnDim, n('wv_rel'));
      this.relType = tf.variable(tf.zeros([this.R, attnDim]), true, n('rel_type'));
      this.scoreWeight = tf.variable(tf.fill([this.R], 1), true, n('score_w'));
    } else {
      this.proj = this.offsets = this.tailIsPin = null;
      this.wkRel = this.wvRel = this.relType = this.scoreWeight = null;
    }
  }

  get variables(): tf.Variable[] {
    const v = [this.wq, this.wkHist, this.wvHist, this.nullKey, this.nullValue];
    if (this.R > 0) v.push(this.wkRel!, this.wvRel!, this.relType!, this.scoreWeight!);
    return v;
  }

  /** Width of the output that joins the tower: pooled value plus one TransR score per relation. */
  get outDim(): number {
    return this.attnDim + this.R;
  }

  /**
   * user, pin, advertiser: [B, d]; history: [B, H, d]; historyMask: [B, H] (1 = a real click).
   * Returns [B, attnDim + R].
   */
  apply(user: tf.Tensor2D, pin: tf.Tensor2D, advertiser: tf.Tensor2D, history: tf.Tensor3D, historyMask: tf.Tensor2D): tf.Tensor2D {
    const B = user.shape[0];
    const H = history.shape[1];
    const dA = this.attnDim;
    const q = tf.matMul(tf.concat([pin, advertiser], 1), this.wq); // [B, dA]
    const keys: tf.Tensor3D[] = [];
    const values: tf.Tensor3D[] = [];
    const biases: tf.Tensor2D[] = [];
    let scores: tf.Tensor2D | null = null;
    if (this.R > 0) {
      const R = this.R, k = this.k;
      const ur = tf.reshape(tf.add(tf.matMul(user, this.proj!), this.offsets!), [B, R, k]); // M_r u + r
      const pr = tf.reshape(tf.matMul(pin, this.proj!), [B, R, k]);
      const ar = tf.reshape(tf.matMul(advertiser, this.proj!), [B, R, k]);
      const tail = tf.add(tf.mul(pr, this.tailIsPin!), tf.mul(ar, tf.sub(1, this.tailIsPin!)));
      scores = tf.neg(tf.sum(tf.square(tf.sub(ur, tail)), 2)) as tf.Tensor2D; // TransR score per relation [B, R]
      const flat = tf.reshape(ur, [B * R, k]) as tf.Tensor2D;
      keys.push(tf.add(tf.reshape(tf.matMul(flat, this.wkRel!), [B, R, dA]), this.relType!) as tf.Tensor3D);
      values.push(tf.add(tf.reshape(tf.matMul(flat, this.wvRel!), [B, R, dA]), this.relType!) as tf.Tensor3D);
      biases.push(tf.mul(scores, this.scoreWeight!) as tf.Tensor2D);
    }
    const hflat = tf.reshape(history, [B * H, this.kgeDim]) as tf.Tensor2D;
    keys.push(tf.reshape(tf.matMul(hflat, this.wkHist), [B, H, dA]) as tf.Tensor3D);
    values.push(tf.reshape(tf.matMul(hflat, this.wvHist), [B, H, dA]) as tf.Tensor3D);
    biases.push(tf.mul(tf.sub(1, historyMask), -1e9) as tf.Tensor2D); // padded history slots get no weight
    keys.push(tf.tile(tf.reshape(this.nullKey, [1, 1, dA]), [B, 1, 1]) as tf.Tensor3D);
    values.push(tf.tile(tf.reshape(this.nullValue, [1, 1, dA]), [B, 1, 1]) as tf.Tensor3D);
    biases.push(tf.zeros([B, 1]));
    const K = tf.concat(keys, 1);
    const V = tf.concat(values, 1);
    const logits = tf.add(tf.div(tf.sum(tf.mul(K, tf.expandDims(q, 1)), 2), Math.sqrt(dA)), tf.concat(biases, 1));
    const att = tf.softmax(logits, 1); // [B, T]
    const pooled = tf.sum(tf.mul(V, tf.expandDims(att, 2)), 1) as tf.Tensor2D; // [B, dA]
    return scores ? (tf.concat([pooled, scores], 1) as tf.Tensor2D) : pooled;
  }
}
