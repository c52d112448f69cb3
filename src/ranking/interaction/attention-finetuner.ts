/**
 * The attention KGE finetuner (DESIGN §5). Query: the candidate pin's KGE vector with its
 * advertiser's. Keys/values: the user's KGE vector projected into each user→pin and
 * user→advertiser relation space, M_r·u + r ("how this user clicks, saves, checks out…"), the KGE
 * vectors of the user's recent clicks, and a learned null token (attend to nothing). Each relation
 * token's logit is biased by its TransR score −‖M_r u + r − M_r t‖² against the candidate (t = pin or
 * advertiser), and those scores join the pooled vector as the finetuner's output.
 * With a graph snapshot, the user's offsite advertisers (PAGE_VISIT … CHECKOUT neighbours) are tokens
 * too, keyed by the advertiser's vector and the relation, and per-relation neighbour counts join the
 * output: opt-in and intent, which drive conversion, show there and not in the clicks.
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

/** Offsite inputs: tokenRelations > 0 adds neighbour tokens, features > 0 the per-impression graph features. */
export interface OffsiteInputs {
  tokenRelations: number;
  features: number;
}

export class AttentionFinetuner {
  readonly attnDim: number;
  readonly tokenRelations: number;
  readonly features: number;
  private readonly R: number;
  private readonly k: number;
  private readonly proj: tf.Tensor2D | null;
  private readonly offsets: tf.Tensor1D | null;
  private readonly tailIsPin: tf.Tensor3D | null;
  private readonly wq: tf.Variable;
  /** [k, 2·dA]: keys and values of the relation tokens in one matmul. */
  private readonly wkvRel: tf.Variable | null;
  private readonly relType: tf.Variable | null;
  private readonly scoreWeight: tf.Variable | null;
  private readonly wkvHist: tf.Variable;
  private readonly nullKey: tf.Variable;
  private readonly nullValue: tf.Variable;
  /** [d, 2·dA] keys and values of the offsite advertiser tokens; [R', 2·dA] their relation's part. */
  private readonly wkvOff: tf.Variable | null;
  private readonly relOff: tf.Variable | null;

  constructor(rng: SeededRandom, readonly kgeDim: number, readonly spaces: RelationSpaces, attnDim = 32, offsite: OffsiteInputs = { tokenRelations: 0, features: 0 }) {
    this.attnDim = attnDim;
    this.tokenRelations = offsite.tokenRelations;
    this.features = offsite.features;
    this.R = spaces.names.length;
    this.k = spaces.relDim;
    const d = kgeDim;
    const n = (b: string) => uniqueName(`attn_${b}`);
    this.wq = glorot(rng, 2 * d, attnDim, n('wq'));
    this.wkvHist = glorot(rng, d, 2 * attnDim, n('wkv_hist'));
    this.nullKey = tf.variable(tf.zeros([1, attnDim]), true, n('null_k'));
    this.nullValue = tf.variable(tf.zeros([1, attnDim]), true, n('null_v'));
    this.wkvOff = this.tokenRelations > 0 ? glorot(rng, d, 2 * attnDim, n('wkv_off')) : null;
    this.relOff = this.tokenRelations > 0 ? glorot(rng, this.tokenRelations, 2 * attnDim, n('rel_off')) : null;
    if (this.R > 0) {
      this.proj = tf.tensor2d(spaces.proj, [d, this.R * this.k]);
      this.offsets = tf.tensor1d(spaces.offsets);
      this.tailIsPin = tf.tensor3d(spaces.tailIsPin, [1, this.R, 1]);
      this.wkvRel = glorot(rng, this.k, 2 * attnDim, n('wkv_rel'));
      this.relType = tf.variable(tf.zeros([this.R, attnDim]), true, n('rel_type'));
      this.scoreWeight = tf.variable(tf.fill([this.R], 1), true, n('score_w'));
    } else {
      this.proj = this.offsets = this.tailIsPin = null;
      this.wkvRel = this.relType = this.scoreWeight = null;
    }
  }

  get variables(): tf.Variable[] {
    const v = [this.wq, this.wkvHist, this.nullKey, this.nullValue];
    if (this.R > 0) v.push(this.wkvRel!, this.relType!, this.scoreWeight!);
    if (this.wkvOff) v.push(this.wkvOff, this.relOff!);
    return v;
  }

  /** Width of the output that joins the tower: pooled value, one TransR score per relation, the graph features. */
  get outDim(): number {
    return this.attnDim + this.R + this.features;
  }

  /**
   * user, pin, advertiser: [B, d]; history: [B, H, d]; historyMask: [B, H] (1 = a real click);
   * offsite: the user's offsite advertisers [B, N, d], their mask [B, N] and one-hot relation [B, N, R'];
   * features: [B, F]. Returns [B, outDim].
   */
  apply(
    user: tf.Tensor2D,
    pin: tf.Tensor2D,
    advertiser: tf.Tensor2D,
    history: tf.Tensor3D,
    historyMask: tf.Tensor2D,
    offsite: { advertisers: tf.Tensor3D; mask: tf.Tensor2D; relation: tf.Tensor3D } | null = null,
    features: tf.Tensor2D | null = null,
  ): tf.Tensor2D {
    if ((this.tokenRelations > 0) !== (offsite !== null) || (this.features > 0) !== (features !== null)) {
      throw new Error('AttentionFinetuner.apply: offsite tokens / features do not match how the finetuner was built');
    }
    const B = user.shape[0];
    const H = history.shape[1];
    const dA = this.attnDim;
    const q = tf.matMul(tf.concat([pin, advertiser], 1), this.wq); // [B, dA]
    const logits: tf.Tensor2D[] = [];
    const values: tf.Tensor3D[] = [];
    let scores: tf.Tensor2D | null = null;
    if (this.R > 0) {
      const R = this.R, k = this.k;
      const ur = tf.reshape(tf.add(tf.matMul(user, this.proj!), this.offsets!), [B, R, k]); // M_r u + r
      // −‖M_r u + r − M_r t‖², t the pin for user→pin relations and the advertiser for user→advertiser ones.
      const tr = tf.reshape(tf.matMul(tf.concat([pin, advertiser], 0), this.proj!), [2, B, R, k]);
      const [pr, ar] = tf.unstack(tr, 0);
      const tail = tf.add(tf.mul(pr, this.tailIsPin!), tf.mul(ar, tf.sub(1, this.tailIsPin!)));
      scores = tf.neg(tf.sum(tf.square(tf.sub(ur, tail)), 2)) as tf.Tensor2D; // [B, R]
      const kv = tf.reshape(tf.matMul(tf.reshape(ur, [B * R, k]) as tf.Tensor2D, this.wkvRel!), [B, R, 2 * dA]);
      const [kRel, vRel] = tf.split(kv, 2, 2);
      const keys = tf.add(kRel, this.relType!);
      logits.push(tf.add(tf.sum(tf.mul(keys, tf.expandDims(q, 1)), 2), tf.mul(scores, this.scoreWeight!)) as tf.Tensor2D);
      values.push(tf.add(vRel, this.relType!) as tf.Tensor3D);
    }
    const hkv = tf.reshape(tf.matMul(tf.reshape(history, [B * H, this.kgeDim]) as tf.Tensor2D, this.wkvHist), [B, H, 2 * dA]);
    const [kHist, vHist] = tf.split(hkv, 2, 2);
    logits.push(tf.add(tf.sum(tf.mul(kHist, tf.expandDims(q, 1)), 2), tf.mul(tf.sub(1, historyMask), -1e9)) as tf.Tensor2D); // padding gets no weight
    values.push(vHist as tf.Tensor3D);
    if (offsite) {
      const N = offsite.advertisers.shape[1];
      const flat = (x: tf.Tensor, w: number) => tf.reshape(x, [B * N, w]) as tf.Tensor2D;
      const okv = tf.reshape(tf.add(tf.matMul(flat(offsite.advertisers, this.kgeDim), this.wkvOff!), tf.matMul(flat(offsite.relation, this.tokenRelations), this.relOff!)), [B, N, 2 * dA]);
      const [kOff, vOff] = tf.split(okv, 2, 2);
      logits.push(tf.add(tf.sum(tf.mul(kOff, tf.expandDims(q, 1)), 2), tf.mul(tf.sub(1, offsite.mask), -1e9)) as tf.Tensor2D);
      values.push(vOff as tf.Tensor3D);
    }
    // The null token by broadcasting, not tf.tile: tile's gradient costs a kernel per batch row.
    logits.push(tf.matMul(q, this.nullKey, false, true));
    const scale = 1 / Math.sqrt(dA);
    const att = tf.softmax(tf.mul(tf.concat(logits, 1), scale), 1); // [B, R + H + 1]
    const T = att.shape[1] as number;
    const pooledTokens = tf.sum(tf.mul(tf.concat(values, 1), tf.expandDims(tf.slice(att, [0, 0], [B, T - 1]), 2)), 1);
    const pooled = tf.add(pooledTokens, tf.mul(tf.slice(att, [0, T - 1], [B, 1]), this.nullValue)) as tf.Tensor2D; // [B, dA]
    const out: tf.Tensor2D[] = [pooled];
    if (scores) out.push(scores);
    if (features) out.push(features);
    return out.length > 1 ? (tf.concat(out, 1) as tf.Tensor2D) : pooled;
  }
}
