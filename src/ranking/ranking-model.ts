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
import { Vocabulary } from './data/impressions';
import { CtrCvrHeads, CvrMode } from './heads/ctr-cvr-heads';
import { AttentionFinetuner, relationSpaces } from './interaction/attention-finetuner';
import { ContrastiveFacet } from './pretraining/contrastive';
import { IdMapper } from './tables/id-mapper';
import { initTableFromVectors } from './tables/init';
import { LidTable } from './tables/lid-table';
import { RowOptimizerKind } from './tables/row-optimizer';
import { Mlp } from './towers/mlp';
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
  seed?: number;
}

/** One use of a table by the model: `width` rows per impression (1, or the history length). */
export interface Slot {
  name: string;
  table: LidTable;
  rows: Int32Array;
  width: number;
}

/** Tensors of one batch, by slot: [B, d] (width 1) or [B, width, d]. */
export type SlotLookup = (slot: string) => tf.Tensor;

export class RankingModel {
  readonly tables: LidTable[] = [];
  readonly slots: Slot[] = [];
  readonly tower: Mlp;
  /** The CVR task's own tower when `taskTowers` (CVR has ~30× fewer labels; a shared tower leans to CTR). */
  readonly cvrTower: Mlp | null = null;
  readonly heads: CtrCvrHeads;
  readonly finetuner: AttentionFinetuner | null = null;
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
    const slot = (name: string, t: LidTable, r: Int32Array, width = 1) => this.slots.push({ name, table: t, rows: r, width });

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
      slot('user_kge', userK, rows.user);
      slot('pin_kge', pinK, rows.pin);
      slot('advertiser_kge', advK, rows.advertiser);
      this.concat.push('user_kge', 'pin_kge', 'advertiser_kge');
      this.dots.push(['user_kge', 'pin_kge'], ['user_kge', 'advertiser_kge']);
      if (variant === 'attention') {
        slot('history_kge', pinK, rows.history, ctx.historyLength);
        const spaces = relationSpaces(emb, ctx.kgeScale);
        this.facts.attentionRelations = spaces.names.join(',');
        this.finetuner = new AttentionFinetuner(rng, d, spaces, opts.attnDim ?? 32);
      }
      if (!frozen && facet2) {
        const u2 = table('user_facet2', mappers.user, facet2.dim, preLr, 0);
        initTableFromVectors(u2, mappers.user, cols.users.ids, (id) => cols.users.code(id), facet2.userVectors, facet2.dim);
        const p2 = table('pin_facet2', mappers.pin, facet2.dim, preLr, 0);
        initTableFromVectors(p2, mappers.pin, cols.pins.ids, (id) => cols.pins.code(id), facet2.pinVectors, facet2.dim);
        slot('user_facet2', u2, rows.user);
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
    this.facts.towerInputDim = inDim;
  }

  get denseVariables(): tf.Variable[] {
    return [...this.tower.variables, ...(this.cvrTower?.variables ?? []), ...this.heads.variables, ...(this.finetuner?.variables ?? [])];
  }

  /** Logits for a batch; `historyMask` [B, H] is needed only by the attention variant. */
  forward(lookup: SlotLookup, historyMask: tf.Tensor2D | null): { ctrLogit: tf.Tensor1D; cvrLogit: tf.Tensor1D } {
    const parts: tf.Tensor2D[] = this.concat.map((s) => lookup(s) as tf.Tensor2D);
    for (const [a, b] of this.dots) parts.push(tf.sum(tf.mul(lookup(a), lookup(b)), 1, true) as tf.Tensor2D);
    if (this.finetuner) {
      parts.push(this.finetuner.apply(lookup('user_kge') as tf.Tensor2D, lookup('pin_kge') as tf.Tensor2D, lookup('advertiser_kge') as tf.Tensor2D, lookup('history_kge') as tf.Tensor3D, historyMask!));
    }
    const x = tf.concat(parts, 1);
    return this.heads.apply(this.tower.apply(x), this.cvrTower ? this.cvrTower.apply(x) : undefined);
  }

  dispose(): void {
    tf.dispose(this.denseVariables);
  }
}
