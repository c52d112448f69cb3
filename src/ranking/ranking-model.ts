/**
 * RankingModel: the ablation ladder's variants as wiring of named parts (TorchRec split):
 * sparse arch (LID tables, each with its own row-wise optimizer and learning rate), interaction
 * (pairwise dots, and for "attention" the KGE finetuner), dense tower, CTR/CVR heads.
 *
 *   ids         id tables (user, pin, advertiser, category, surface, hour), random init
 *   kge-frozen  + KGE vectors of user, pin, advertiser concatenated, frozen (facet 1 as a feature)
 *   lid-init    ids + tables initialised from KGE (facet 1) and from contrastive pretraining
 *               (facet 2), finetuned at their own learning rate
 *   attention   lid-init + the attention KGE finetuner
 */
import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../common/rng';
import { entityRow } from './data/embedding-export';
import { OFFSITE_FEATURES, OFFSITE_RELATIONS } from './data/offsite';
import { Vocabulary } from './data/impressions';
import { CtrCvrHeads, CvrMode } from './heads/ctr-cvr-heads';
import { AttentionFinetuner, relationSpaces } from './interaction/attention-finetuner';
import { ContrastiveFacet } from './pretraining/contrastive';
import { IdMapper } from './tables/id-mapper';
import { initTableFromVectors } from './tables/init';
import { LidTable } from './tables/lid-table';
import { RowOptimizerKind } from './tables/row-optimizer';
import { Mlp, uniqueName } from './towers/mlp';
import { RankingContext } from './training/context';

export const VARIANTS = ['ids', 'kge-frozen', 'lid-init', 'attention'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface ModelOptions {
  idDim?: number;
  /** Row-wise optimizer of the sparse tables (default adagrad). */
  sparseOptimizer?: RowOptimizerKind;
  sparseLearningRate?: number;
  /** Learning rate of the pretrained (KGE / facet-2) tables: finetuned gently. */
  pretrainedLearningRate?: number;
  hidden?: number[];
  attnDim?: number;
  /**
   * KGE vectors of users and pins with fewer training impressions than this start at zero. TransE/TransR
   * vectors of barely-seen entities are mostly their random init (noise the tower would trust);
   * TransRA composes them from anchors, so the default there is 0 (keep all). Default 4 otherwise.
   */
  kgeMinImpressions?: number;
  /** One tower per task (default) instead of a shared one. */
  taskTowers?: boolean;
  cvrMode?: CvrMode;
  /**
   * What the attention variant takes from the graph snapshot's offsite edges, when the context has them:
   * tokens (the user's offsite advertisers as keys/values), features (per-relation neighbour counts and
   * "opted in", joined to the finetuner's output), both (default) or none.
   */
  offsite?: OffsiteUse;
  /**
   * With offsite features, also add a linear term of them to the CVR logit (wide & deep): opt-in and
   * funnel depth act on the conversion odds almost additively, and a linear path learns that from
   * few conversions where the deep tower overfits. Default true.
   */
  offsiteWide?: boolean;
  seed?: number;
}

export const OFFSITE_USES = ['both', 'tokens', 'features', 'none'] as const;
export type OffsiteUse = (typeof OFFSITE_USES)[number];

/** One use of a table by the model: `width` rows per impression (1, or the history length). */
export interface Slot {
  name: string;
  table: LidTable;
  rows: Int32Array;
  width: number;
  /** Looked up as [B, width, d] with a mask `name:mask` [B, width] (histories, neighbours), else [B, d]. */
  sequence: boolean;
  /**
   * What the model knows of the user from pretraining and history (KGE and facet-2 user rows, recent clicks):
   * a cold-start user has none of it, so training drops these slots for some impressions (TrainOptions.coldStartDropout).
   */
  userKnowledge: boolean;
}

/** Per-impression dense input that is not a table (graph features): `data` is [n × prod(shape)]. */
export interface DenseInput {
  name: string;
  data: Float32Array;
  shape: number[];
}

/** Tensors of one batch, by slot: [B, d] or [B, width, d] (sequence slots, with `name:mask`), and dense inputs by name. */
export type SlotLookup = (slot: string) => tf.Tensor;

export class RankingModel {
  readonly tables: LidTable[] = [];
  readonly slots: Slot[] = [];
  readonly inputs: DenseInput[] = [];
  readonly tower: Mlp;
  /** The CVR task's own tower when `taskTowers` (CVR has ~30× fewer labels; a shared tower leans to CTR). */
  readonly cvrTower: Mlp | null = null;
  readonly heads: CtrCvrHeads;
  readonly finetuner: AttentionFinetuner | null = null;
  /** [F, 1] linear path from the offsite features to the CVR logit, when used. */
  readonly cvrWide: tf.Variable | null = null;
  private readonly dots: [string, string][] = [];
  private readonly concat: string[] = [];
  readonly facts: Record<string, number | string> = {};

  constructor(readonly variant: Variant, ctx: RankingContext, facet2: ContrastiveFacet | null, opts: ModelOptions = {}) {
    const rng = new SeededRandom(opts.seed ?? 42);
    const idDim = opts.idDim ?? 16;
    const kind = opts.sparseOptimizer ?? 'adagrad';
    const sparseLr = opts.sparseLearningRate ?? (kind === 'adagrad' ? 0.05 : 0.005);
    const preLr = opts.pretrainedLearningRate ?? sparseLr / 25;
    const { mappers, rows } = ctx;
    let seed = 100;
    const table = (name: string, mapper: IdMapper, dim: number, lr: number, initStd = 0.01, frozen = false) => {
      const t = new LidTable({ name, rows: mapper.rows, dim, initStd, seed: seed++, optimizer: { kind, learningRate: lr }, frozen });
      this.tables.push(t);
      return t;
    };
    const slot = (name: string, t: LidTable, r: Int32Array, width = 1, sequence = false, userKnowledge = false) =>
      this.slots.push({ name, table: t, rows: r, width, sequence, userKnowledge });

    slot('user_id', table('user_id', mappers.user, idDim, sparseLr), rows.user);
    slot('pin_id', table('pin_id', mappers.pin, idDim, sparseLr), rows.pin);
    slot('advertiser_id', table('advertiser_id', mappers.advertiser, idDim, sparseLr), rows.advertiser);
    slot('category_id', table('category_id', mappers.category, 8, sparseLr), rows.category);
    slot('surface', table('surface', mappers.surface, 4, sparseLr), rows.surface);
    slot('hour', table('hour', mappers.hour, 4, sparseLr), rows.hour);
    this.concat.push('user_id', 'pin_id', 'advertiser_id', 'category_id', 'surface', 'hour');
    this.dots.push(['user_id', 'pin_id'], ['user_id', 'advertiser_id']);

    const useKge = variant !== 'ids';
    if (useKge) {
      const emb = ctx.embeddings;
      if (!emb) throw new Error(`variant ${variant} needs --embeddings (a KGE export)`);
      const frozen = variant === 'kge-frozen';
      const d = emb.dim;
      const scaled = new Float32Array(emb.entities.length);
      for (let i = 0; i < scaled.length; i++) scaled[i] = emb.entities[i] * ctx.kgeScale;
      const minImpressions = opts.kgeMinImpressions ?? (emb.manifest.model === 'transra' ? 0 : 4);
      this.facts.kgeMinImpressions = minImpressions;
      const kgeTable = (name: string, mapper: IdMapper, type: string, vocab: Vocabulary, seen: Int32Array | null) => {
        // Ids the KGE never (or barely) saw start at zero: "no graph knowledge", not noise.
        const t = table(name, mapper, d, preLr, 0, frozen);
        const ids = vocab.ids;
        const lookup = (id: string) => (seen && seen[vocab.code(id)] < minImpressions ? -1 : entityRow(emb, type, id));
        const found = initTableFromVectors(t, mapper, ids, lookup, scaled, d);
        this.facts[`${name}Coverage`] = ids.length ? Number((found / ids.length).toFixed(3)) : 0;
        return t;
      };
      const cols = ctx.cols;
      const userK = kgeTable('user_kge', mappers.user, 'User', cols.users, ctx.trainImpressions.user);
      const pinK = kgeTable('pin_kge', mappers.pin, 'Pin', cols.pins, ctx.trainImpressions.pin);
      const advK = kgeTable('advertiser_kge', mappers.advertiser, 'Advertiser', cols.advertisers, null);
      // Embeddings of another graph would start every KGE row at zero: a run that looks fine and means nothing.
      if (this.facts.user_kgeCoverage === 0 && this.facts.pin_kgeCoverage === 0 && this.facts.advertiser_kgeCoverage === 0) {
        throw new Error(
          `the embeddings (${emb.manifest.model}, ${emb.entities.length / d} entities) cover none of the data's ${cols.users.ids.length} users, ` +
            `${cols.pins.ids.length} pins and ${cols.advertisers.ids.length} advertisers: were they trained on a snapshot of this data's graph?`,
        );
      }
      slot('user_kge', userK, rows.user, 1, false, true);
      slot('pin_kge', pinK, rows.pin);
      slot('advertiser_kge', advK, rows.advertiser);
      this.concat.push('user_kge', 'pin_kge', 'advertiser_kge');
      this.dots.push(['user_kge', 'pin_kge'], ['user_kge', 'advertiser_kge']);
      if (variant === 'attention') {
        slot('history_kge', pinK, rows.history, ctx.historyLength, true, true);
        const spaces = relationSpaces(emb, ctx.kgeScale);
        this.facts.attentionRelations = spaces.names.join(',');
        const use = ctx.offsite ? (opts.offsite ?? 'both') : 'none';
        this.facts.offsite = use;
        if (ctx.offsite) this.facts.offsiteTokens = ctx.offsite.tokens;
        const off = ctx.offsite;
        if (off && (use === 'both' || use === 'tokens')) {
          slot('offsite_kge', advK, off.advertiser, off.tokens, true);
          this.inputs.push({ name: 'offsite_relation', data: off.relation, shape: [off.tokens, OFFSITE_RELATIONS.length] });
        }
        const useFeatures = off !== null && (use === 'both' || use === 'features');
        if (useFeatures) this.inputs.push({ name: 'offsite_features', data: off.features, shape: [OFFSITE_FEATURES] });
        this.finetuner = new AttentionFinetuner(rng, d, spaces, opts.attnDim ?? 32, {
          tokenRelations: use === 'both' || use === 'tokens' ? OFFSITE_RELATIONS.length : 0,
          features: useFeatures ? OFFSITE_FEATURES : 0,
        });
      }
      if (!frozen && facet2) {
        const u2 = table('user_facet2', mappers.user, facet2.dim, preLr, 0);
        initTableFromVectors(u2, mappers.user, cols.users.ids, (id) => cols.users.code(id), facet2.userVectors, facet2.dim);
        const p2 = table('pin_facet2', mappers.pin, facet2.dim, preLr, 0);
        initTableFromVectors(p2, mappers.pin, cols.pins.ids, (id) => cols.pins.code(id), facet2.pinVectors, facet2.dim);
        slot('user_facet2', u2, rows.user, 1, false, true);
        slot('pin_facet2', p2, rows.pin);
        this.concat.push('user_facet2', 'pin_facet2');
        this.dots.push(['user_facet2', 'pin_facet2']);
      }
    }
    const dimOf = (s: string) => this.slots.find((x) => x.name === s)!.table.dim;
    const inDim = this.concat.reduce((a, s) => a + dimOf(s), 0) + this.dots.length + (this.finetuner?.outDim ?? 0);
    this.tower = new Mlp(rng, inDim, opts.hidden ?? [64, 32], 'tower', true);
    if (opts.taskTowers ?? true) this.cvrTower = new Mlp(rng, inDim, opts.hidden ?? [64, 32], 'cvr_tower', true);
    this.heads = new CtrCvrHeads(rng, this.tower.outDim, opts.cvrMode ?? 'clicks');
    const wide = (this.finetuner?.features ?? 0) > 0 && (opts.offsiteWide ?? true);
    if (wide) this.cvrWide = tf.variable(tf.zeros([OFFSITE_FEATURES, 1]), true, uniqueName('cvr_wide'));
    if (this.finetuner) this.facts.offsiteWide = this.cvrWide ? 1 : 0;
    this.facts.towerInputDim = inDim;
  }

  get denseVariables(): tf.Variable[] {
    return [...this.tower.variables, ...(this.cvrTower?.variables ?? []), ...this.heads.variables, ...(this.finetuner?.variables ?? []), ...(this.cvrWide ? [this.cvrWide] : [])];
  }

  /** Logits for a batch. */
  forward(lookup: SlotLookup): { ctrLogit: tf.Tensor1D; cvrLogit: tf.Tensor1D } {
    const parts: tf.Tensor2D[] = this.concat.map((s) => lookup(s) as tf.Tensor2D);
    for (const [a, b] of this.dots) parts.push(tf.sum(tf.mul(lookup(a), lookup(b)), 1, true) as tf.Tensor2D);
    if (this.finetuner) {
      const f = this.finetuner;
      const offsite = f.tokenRelations > 0 ? { advertisers: lookup('offsite_kge') as tf.Tensor3D, mask: lookup('offsite_kge:mask') as tf.Tensor2D, relation: lookup('offsite_relation') as tf.Tensor3D } : null;
      const features = f.features > 0 ? (lookup('offsite_features') as tf.Tensor2D) : null;
      parts.push(
        f.apply(lookup('user_kge') as tf.Tensor2D, lookup('pin_kge') as tf.Tensor2D, lookup('advertiser_kge') as tf.Tensor2D, lookup('history_kge') as tf.Tensor3D, lookup('history_kge:mask') as tf.Tensor2D, offsite, features),
      );
    }
    const x = tf.concat(parts, 1);
    const out = this.heads.apply(this.tower.apply(x), this.cvrTower ? this.cvrTower.apply(x) : undefined);
    if (!this.cvrWide) return out;
    const wide = tf.squeeze(tf.matMul(lookup('offsite_features') as tf.Tensor2D, this.cvrWide), [1]) as tf.Tensor1D;
    return { ctrLogit: out.ctrLogit, cvrLogit: tf.add(out.cvrLogit, wide) as tf.Tensor1D };
  }

  dispose(): void {
    tf.dispose(this.denseVariables);
  }
}
