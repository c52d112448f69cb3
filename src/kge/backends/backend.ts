/**
 * The compute-backend contract of the KGE engine. Every backend (js, native, cuda) implements
 * `KgeBackend` and reproduces the js reference exactly as specified here.
 *
 * ─── NOTE FOR THE NATIVE ENGINEER ─────────────────────────────────────────────────────────────────
 *  • Export from src/kge/backends/native/index.ts:  `export const nativeBackendFactory: BackendFactory`.
 *    The registry (src/kge/backends/registry.ts) `require`s that module lazily; nothing else to wire.
 *    `available()` returns {ok:false, reason} (e.g. "addon not built: <node-gyp error>") when the addon
 *    cannot load; `create()` then throws the same reason. `adkg train --backend native` prints it.
 *  • The test battery (test/kge-battery.test.ts) runs every model × every *available* backend through
 *    the same checks, so once `available()` says ok your backend is tested with no further edits:
 *    finite-difference gradients (via `gradients()`), loss trajectory equal to js within
 *    `TRAJECTORY_TOLERANCE`, save/load, resume. Sampling must be bit-identical to js (the battery
 *    compares `sampleNegatives()` outputs element for element).
 *  • All tables are Float32Arrays allocated and owned by JS (`ModelTables`, `OptimizerState`). Use
 *    their memory in place (no copies); they are never reallocated while a backend lives. JS reads
 *    them between calls (checkpoints, export) and may write them between calls (evaluation zeroes
 *    rows for inductive entities; resume fills them) — so cache nothing derived from them across
 *    calls. At most one call is in flight at a time; calls may run off the main thread and resolve later.
 *  • Exact cancellations: with margin loss + l1 every gradient term is ±w/B, and sums that cancel
 *    exactly in js (double) must cancel in native too — Adagrad's and Adam's first step turn a
 *    1e-9 residue into a full lr-sized step. Accumulate per-row gradients in double (or in float32
 *    in js's order: positives, then negatives j = 0..n-1, slot by slot).
 *  • Reference implementation to read alongside this file: src/kge/backends/js/ (it calls the pieces
 *    in interactions/, representations/, sampling/, losses/, optimizers/).
 * ──────────────────────────────────────────────────────────────────────────────────────────────────
 *
 * ## Layout of the tables (all row-major)
 *   N entities, R relations, d = dim, k = relDim (TransE: k = d), A anchors, K anchors per entity.
 *   entity      N×d    TransE/TransR: the entity vector e. TransRA: the free part ê.
 *   relation    R×k    the translation r.
 *   projection  R×k×d  TransR/TransRA: M_r, element (i,j) at r*k*d + i*d + j  (null for TransE).
 *   anchor      A×d    TransRA: anchor vectors ā (null otherwise).
 *   anchorOf    N×K    TransRA: int32 anchor slots of each entity, nearest first, -1 = none (from AnchorIndex).
 *   anchorLogit N×K    TransRA: logits λ of α_{e,·} = softmax over the slots with anchorOf ≠ -1.
 *
 * ## Entity representation (representations/)
 *   TransE/TransR: x_e = entity[e].
 *   TransRA:       x_e = ê_e + Σ_{i: anchorOf[e,i]≠-1} α_{e,i} · anchor[anchorOf[e,i]],
 *                  α_{e,i} = exp(λ_{e,i} − m) / Σ_j exp(λ_{e,j} − m), m = max over valid j.
 *                  No valid slot → x_e = ê_e.
 *
 * ## Distance (interactions/); score = −distance; lower distance = more plausible
 *   TransE:          v = x_h + r − x_t               (length d)
 *   TransR/TransRA:  v = M_r x_h + r − M_r x_t        (length k)
 *   norm 'l1': dist = Σ|v_i|, ∂dist/∂v_i = sign(v_i) (sign(0) = 0)
 *   norm 'l2': dist = √(Σ v_i²), ∂dist/∂v_i = v_i / dist (0 when dist = 0)
 *   Gradients: ∂/∂r = g (g = ∂dist/∂v); TransE ∂/∂x_h = g, ∂/∂x_t = −g;
 *   TransR ∂/∂x_h = M_rᵀg, ∂/∂x_t = −M_rᵀg, ∂/∂M_r = g (x_h − x_t)ᵀ;
 *   TransRA from ∂/∂x_e = u: ∂/∂ê_e = u, ∂/∂ā_{anchorOf[e,i]} += α_{e,i} u,
 *   ∂/∂λ_{e,i} = α_{e,i} (ā_i·u − Σ_j α_{e,j} ā_j·u)   (only when config.learnAnchorWeights).
 *
 * ## Loss of one batch (losses/), B positives, n negatives each, γ = margin, τ = adversarialTemperature
 *   weights w_j = 1/n when τ = 0, else softmax_j(−τ·dist⁻_j) (computed with max-subtraction and
 *   treated as constants: no gradient flows through w).
 *   'margin':   ℓ_b = Σ_j w_j · max(0, γ + dist⁺ − dist⁻_j)
 *   'softplus': ℓ_b = ½ [ softplus(dist⁺ − γ) + Σ_j w_j · softplus(γ − dist⁻_j) ]   (RotatE's loss)
 *               softplus(x) = max(x,0) + log1p(exp(−|x|))
 *   batch loss L = (1/B) Σ_b ℓ_b  — returned by trainBatch, gradients are of L.
 *   'margin': the hinge's gradient is taken as 0 when γ + dist⁺ − dist⁻ ≤ 0 (exactly at 0: 0).
 *
 * ## Negatives (sampling/) — must be bit-identical in every backend
 *   Random numbers are `counterUint32(seed, stream, counter)` from src/common/rng.ts, with
 *   stream = negativeStream(epoch, purpose) below, and uint32 counters (wrapping mod 2^32).
 *   u = counterFloat(...) = uint32 / 2^32 (exact in double);
 *   int(n) = counterInt(...) = floor((double)uint32 / 4294967296.0 * (double)n) in IEEE double —
 *   do it in double in C++ too (not a 64-bit multiply-shift), so results match for every n.
 *   Positive slot b of a batch has epoch position p = batch.offset + b.
 *
 *   sampling 'independent': for negative j (0 ≤ j < n) of slot b, c = (p·n + j) mod 2^32.
 *   sampling 'shared':      slots are cut into chunks of chunkSize consecutive slots from slot 0 (the
 *                           last may be shorter); the chunk starting at slot s has q = offset + s and,
 *                           for its negative j, c = (q·n + j) mod 2^32. Every positive of the chunk
 *                           uses the chunk's n negatives, all on the chunk's side. "The chunk's
 *                           positive" below is its first slot s (the trainer orders epochs so
 *                           chunks hold one relation).
 *   side (which end is replaced), drawn per negative (independent) or per chunk with c = q·n (shared):
 *       corruption 'uniform':   head iff counterFloat(seed, stream(epoch, SIDE), c) < 0.5
 *       corruption 'bernoulli': head iff counterFloat(seed, stream(epoch, SIDE), c) < headProb[rel]
 *                               (headProb: Float64Array(R) computed by JS, see SamplingTables)
 *       corruption 'typed':     as 'uniform' for the side (typed restricts the candidates only)
 *   entity: i = counterInt(seed, stream(epoch, ENTITY), c, size)
 *       'uniform'/'bernoulli':  replacement = i with size = N
 *       'typed':                t = entityType[the replaced entity of the positive];
 *                               size = typeOffsets[t+1] − typeOffsets[t];
 *                               replacement = typeMembers[typeOffsets[t] + i]
 *   No rejection: a negative equal to its positive is kept (as in PyKEEN's default samplers).
 *
 * ## Update of one batch (optimizers/), in this order
 *   1. Draw all negatives of the batch.
 *   2. Compute every distance with the parameters as they were at the start of the call.
 *   3. Accumulate ∂L/∂parameter over the whole batch (sum over occurrences).
 *   4. Optimizer step on the *touched* rows only: an entity row is touched when the entity occurs in
 *      the batch as head, tail or negative (TransRA: its ê row and its anchorLogit row, and the anchor
 *      rows of its anchor slots); a relation row and its projection block when the relation occurs.
 *      Touched rows get a step even when their gradient is exactly 0 (Adam moments decay).
 *      entity/anchor/anchorLogit use config.entityOptimizer with config.lr; relation/projection use
 *      config.relationOptimizer with config.relationLr. With t = batch.step (1-based, global):
 *        adagrad: s1 += g²;  w −= lr · g / (√s1 + 1e-10)
 *        adam:    s1 = 0.9·s1 + 0.1·g;  s2 = 0.999·s2 + 0.001·g²;
 *                 w −= lr · (s1 / (1 − 0.9^t)) / (√(s2 / (1 − 0.999^t)) + 1e-8)
 *   5. Constraints on touched rows, after the step: config.constraint 'unit-ball' rescales every
 *      touched entity (ê), anchor and relation row with ‖·‖₂ > 1 to norm 1 (TransE/TransR papers).
 *      'none' does nothing.
 *
 * ## Numerics and tolerance
 *   js computes in double and stores float32; native may compute in float32 and sum in any order.
 *   Loss trajectories must agree within TRAJECTORY_TOLERANCE (relative, per batch) over the battery's
 *   short runs; sampled negatives must agree exactly.
 */
import type { AnchorIndex } from '../../common/anchor-index';

export type ModelName = 'transe' | 'transr' | 'transra';
export const MODEL_NAMES: readonly ModelName[] = ['transe', 'transr', 'transra'];
export type LossName = 'margin' | 'softplus';
export type NormName = 'l1' | 'l2';
export type SamplingName = 'independent' | 'shared';
export type CorruptionName = 'uniform' | 'bernoulli' | 'typed';
export type OptimizerName = 'adagrad' | 'adam';
export type ConstraintName = 'none' | 'unit-ball';
export type BackendName = 'js' | 'native' | 'cuda';

/** Relative per-batch loss difference allowed between js and another backend over the battery's runs. */
export const TRAJECTORY_TOLERANCE = 1e-3;

/** Purposes of the counter-RNG streams. SIDE and ENTITY are the backends'; the rest are JS-only. */
export const RNG_PURPOSE = {
  SIDE: 1,
  ENTITY: 2,
  /** Trainer: epoch permutation of the positives (JS only). */
  SHUFFLE: 3,
  /** Trainer: parameter initialisation (JS only; epoch = 0). */
  INIT: 4,
  /** Validation sample for per-epoch MRR (JS only). */
  EVAL_SAMPLE: 5,
} as const;

/** stream = (epoch·8 + purpose) mod 2^32. */
export function negativeStream(epoch: number, purpose: number): number {
  return (epoch * 8 + purpose) >>> 0;
}

/** Shapes of a model; everything a backend needs to interpret ModelTables. */
export interface ModelShape {
  model: ModelName;
  numEntities: number;
  numRelations: number;
  /** d: entity (and anchor) dimension. */
  dim: number;
  /** k: relation dimension; equals dim for TransE. */
  relDim: number;
  /** A: anchors (0 unless transra). */
  numAnchors: number;
  /** K: anchor slots per entity (0 unless transra). */
  anchorsPerEntity: number;
}

/** The learned parameters, owned by JS. See the layout above. */
export interface ModelTables {
  shape: ModelShape;
  entity: Float32Array;
  relation: Float32Array;
  projection: Float32Array | null;
  anchor: Float32Array | null;
  /** Int32, not learned: AnchorIndex.anchorOf. */
  anchorOf: Int32Array | null;
  anchorLogit: Float32Array | null;
  /** Kept with the model (checkpoint, export); backends do not read it. */
  anchorIndex: AnchorIndex | null;
}

/** Names of the learned tables, the keys of OptimizerState. */
export type TableName = 'entity' | 'relation' | 'projection' | 'anchor' | 'anchorLogit';
export const TABLE_NAMES: readonly TableName[] = ['entity', 'relation', 'projection', 'anchor', 'anchorLogit'];

/** Optimizer slots of one table, each the same length as the table. adagrad: s1 = Σg², s2 = null. adam: s1 = m, s2 = v. */
export interface OptimizerSlots {
  s1: Float32Array;
  s2: Float32Array | null;
}

/** One OptimizerSlots per learned table that exists in the model (projection/anchor/anchorLogit only when present). */
export type OptimizerState = Partial<Record<TableName, OptimizerSlots>>;

export interface TrainConfig {
  loss: LossName;
  /** γ. */
  margin: number;
  /** τ of the self-adversarial weights; 0 = plain mean over negatives. */
  adversarialTemperature: number;
  norm: NormName;
  /** n: negatives per positive. */
  negatives: number;
  sampling: SamplingName;
  /** Positives per chunk when sampling = 'shared'. */
  chunkSize: number;
  corruption: CorruptionName;
  /** Optimizer for entity, anchor and anchorLogit tables (row-sparse). */
  entityOptimizer: OptimizerName;
  /** Optimizer for relation and projection tables. */
  relationOptimizer: OptimizerName;
  lr: number;
  relationLr: number;
  constraint: ConstraintName;
  /** TransRA: learn the anchor logits (false: α stays as initialised, e.g. inverse hop distance). */
  learnAnchorWeights: boolean;
  /** uint32 seed of the counter RNG. */
  seed: number;
  /** Worker threads (native); 0 = all cores. js ignores it. */
  threads: number;
}

/** Sampling data computed once by JS from the training triples and entity types. */
export interface SamplingTables {
  /** Float64Array(R): P(corrupt the head) for Bernoulli corruption: tph/(tph+hpt) per relation. */
  headProb: Float64Array;
  /** Int32Array(N): type index of every entity. */
  entityType: Int32Array;
  /** Int32Array(T+1): members of type t are typeMembers[typeOffsets[t] .. typeOffsets[t+1]). */
  typeOffsets: Int32Array;
  /** Int32Array(N): entity ids grouped by type, ascending within a type. */
  typeMembers: Int32Array;
}

/** One batch of positives; arrays of equal length B, views the backend reads during the call only. */
export interface TrainBatch {
  heads: Int32Array;
  relations: Int32Array;
  tails: Int32Array;
  /** Epoch number (0-based): part of the RNG stream. */
  epoch: number;
  /** Position in the epoch of slot 0 (p = offset + b). */
  offset: number;
  /** Global 1-based optimizer step (Adam bias correction). */
  step: number;
}

/** Negatives of a batch as drawn by the sampler: B×n, row-major. */
export interface NegativeSample {
  /** The replacement entity. */
  entities: Int32Array;
  /** 1 = head replaced, 0 = tail replaced. */
  corruptHead: Uint8Array;
}

/** Queries for scoring against every entity: (h, r, ?) when side = 'tail', (?, r, t) when side = 'head'. */
export interface ScoreQueries {
  side: 'head' | 'tail';
  /** The known entity of each query (the head when side = 'tail', the tail when side = 'head'). */
  known: Int32Array;
  relations: Int32Array;
}

/** Gradients of the batch loss, each the full size of its table (zeros where untouched). */
export type Gradients = Partial<Record<TableName, Float64Array>>;

/** Consecutive batches of one epoch: batch i = [i·batchSize, …) with offset offset + i·batchSize, step firstStep + i. */
export interface TrainRun {
  heads: Int32Array;
  relations: Int32Array;
  tails: Int32Array;
  epoch: number;
  /** Epoch position of heads[0]. */
  offset: number;
  batchSize: number;
  /** Global 1-based optimizer step of the first batch. */
  firstStep: number;
  /**
   * The caller's promise that nothing but this backend writes the tables until its next training call
   * (trainRun, trainBatch, gradients). A device backend then keeps its copy of the tables after the run
   * (they are still copied back, so the JS tables are current) and skips copying them in again for
   * scoreAll and the next trainRun. The trainer makes it; default false.
   */
  keepOnDevice?: boolean;
}

export interface KgeBackend {
  readonly name: BackendName;
  /** Draws, computes loss and gradients, updates touched rows (see the order above); resolves to the batch loss L. */
  trainBatch(batch: TrainBatch): Promise<number>;
  /**
   * Optional fast path: many consecutive batches in one call, with the same results as trainBatch on each in
   * turn (cuda keeps the tables on the device between the batches). Resolves to the loss of every batch.
   */
  trainRun?(run: TrainRun): Promise<{ losses: Float64Array }>;
  /**
   * Distances of queries against all N entities: out[q·N + e] = dist with the missing side = e.
   * out.length must be ≥ Q·N. Uses the tables as they are now.
   */
  scoreAll(queries: ScoreQueries, out: Float32Array): Promise<void>;
  /** The negatives trainBatch would draw for this batch (for the battery; not on the hot path). */
  sampleNegatives(batch: TrainBatch): Promise<NegativeSample>;
  /** ∂L/∂tables for a batch without updating anything (for the battery's finite-difference checks). */
  gradients(batch: TrainBatch): Promise<{ loss: number; gradients: Gradients }>;
  /** Frees native resources; the JS tables stay valid. */
  dispose(): void;
}

export interface BackendInit {
  tables: ModelTables;
  optimizer: OptimizerState;
  config: TrainConfig;
  sampling: SamplingTables;
}

export type Availability = { ok: true } | { ok: false; reason: string };

export interface BackendFactory {
  readonly name: BackendName;
  /** Whether this backend can run here; when not, a reason a user can act on. */
  available(): Availability;
  /** Throws the availability reason when unavailable. */
  create(init: BackendInit): KgeBackend;
}
