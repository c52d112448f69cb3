/**
 * RankingContext: everything the variants share for one data set — the time split, feature rows per
 * impression, click histories, sparse-user flags and the (checked) embedding export.
 */
import { TripleSet } from '../../common/triple-set';
import { ImpressionColumns } from '../data/impressions';
import { EmbeddingSet } from '../data/embedding-export';
import { OFFSITE_FEATURES, OFFSITE_RELATIONS, offsiteFeatures, offsiteNeighbours, standardizeFeatures } from '../data/offsite';
import { TimeSplit, clickHistories, sparseUsers, timeSplit } from '../data/split';
import { IdMapper } from '../tables/id-mapper';
import { checkEmbeddingWindow } from './leakage';

export interface ContextOptions {
  evalDays?: number;
  historyLength?: number;
  /** Cap on the rows of each id table; an id space above it is hashed. */
  tableRows?: number;
  sparseThreshold?: number;
  allowUnknownWindow?: boolean;
  /** The graph snapshot (TripleSet) the export was trained on: the users' offsite neighbours come from it. */
  graph?: { set: TripleSet; dir: string };
  /** Offsite neighbour tokens per user the attention finetuner sees (deepest relations first; default 16). */
  offsiteTokens?: number;
}

/** The user's offsite neighbours from the graph snapshot, per impression (features: the days before it when the snapshot has its per-day breakdown). */
export interface OffsiteRows {
  tokens: number;
  /** [n × tokens] advertiser table rows, -1 padding */
  advertiser: Int32Array;
  /** [n × tokens × R] one-hot relation of each token (OFFSITE_RELATIONS order) */
  relation: Float32Array;
  /** [n × OFFSITE_FEATURES], see offsiteFeatures */
  features: Float32Array;
  /** Offsite triples read, and users with at least one. */
  edges: number;
  users: number;
  /** The snapshot they came from (its folder as given, and its window). */
  graph: { dir: string; window: { from: string | null; to: string | null } };
  /** features = (raw − featureMean)·featureScale per column, over the training impressions (standardizeFeatures). */
  featureMean: Float64Array;
  featureScale: Float64Array;
}

export interface FeatureRows {
  user: Int32Array;
  pin: Int32Array;
  advertiser: Int32Array;
  category: Int32Array;
  surface: Int32Array;
  hour: Int32Array;
  /** [n × historyLength] pin rows of the user's earlier clicks, -1 padding */
  history: Int32Array;
}

export interface RankingContext {
  cols: ImpressionColumns;
  split: TimeSplit;
  historyLength: number;
  /** per user code: 1 when the user has ≤ sparseThreshold training impressions */
  sparseUser: Uint8Array;
  mappers: { user: IdMapper; pin: IdMapper; advertiser: IdMapper; category: IdMapper; surface: IdMapper; hour: IdMapper };
  rows: FeatureRows;
  embeddings: EmbeddingSet | null;
  /** Training impressions per user, pin and advertiser code (how much the data has seen each id). */
  trainImpressions: { user: Int32Array; pin: Int32Array; advertiser: Int32Array };
  /** Scale that brings the export's mean entity norm to 1 (the towers see comparable magnitudes). */
  kgeScale: number;
  /** Present when a graph snapshot was given. */
  offsite: OffsiteRows | null;
}

const NO_CATEGORY = '\u0000none';

export function buildRankingContext(cols: ImpressionColumns, embeddings: EmbeddingSet | null, opts: ContextOptions = {}): RankingContext {
  const evalDays = opts.evalDays ?? 2;
  const split = timeSplit(cols, evalDays);
  if (embeddings) checkEmbeddingWindow(embeddings.manifest, embeddings.dir, split.evalStart, evalDays, opts.allowUnknownWindow);
  // Its edges include the conversions being evaluated unless the snapshot ends where evaluation starts.
  if (opts.graph) checkEmbeddingWindow(opts.graph.set.manifest, opts.graph.dir, split.evalStart, evalDays, opts.allowUnknownWindow, 'graph snapshot');
  if (split.eval.length === 0) throw new Error(`${cols.source}: no impressions in the last ${evalDays} day(s)`);
  const H = opts.historyLength ?? 10;
  const cap = opts.tableRows;
  const mappers = {
    user: new IdMapper(cols.users.ids, cap),
    pin: new IdMapper(cols.pins.ids, cap),
    advertiser: new IdMapper(cols.advertisers.ids, cap),
    category: new IdMapper([NO_CATEGORY, ...cols.categories.ids], cap),
    surface: new IdMapper(cols.surfaces.ids, cap),
    hour: new IdMapper(Array.from({ length: 24 }, (_, h) => String(h))),
  };
  const codeRows = (m: IdMapper, ids: string[]) => Int32Array.from(ids, (id) => m.row(id));
  const userRow = codeRows(mappers.user, cols.users.ids);
  const pinRow = codeRows(mappers.pin, cols.pins.ids);
  const advRow = codeRows(mappers.advertiser, cols.advertisers.ids);
  const catRow = codeRows(mappers.category, cols.categories.ids);
  const noCat = mappers.category.row(NO_CATEGORY);
  const surfRow = codeRows(mappers.surface, cols.surfaces.ids);
  const n = cols.n;
  const rows: FeatureRows = {
    user: new Int32Array(n),
    pin: new Int32Array(n),
    advertiser: new Int32Array(n),
    category: new Int32Array(n),
    surface: new Int32Array(n),
    hour: new Int32Array(n),
    history: new Int32Array(n * H),
  };
  for (let i = 0; i < n; i++) {
    rows.user[i] = userRow[cols.user[i]];
    rows.pin[i] = pinRow[cols.pin[i]];
    rows.advertiser[i] = advRow[cols.advertiser[i]];
    rows.category[i] = cols.category[i] < 0 ? noCat : catRow[cols.category[i]];
    rows.surface[i] = surfRow[cols.surface[i]];
    rows.hour[i] = mappers.hour.row(String(new Date(cols.ts[i]).getUTCHours()));
  }
  const hist = clickHistories(cols, H);
  for (let j = 0; j < hist.length; j++) rows.history[j] = hist[j] < 0 ? -1 : pinRow[hist[j]];
  const trainImpressions = { user: new Int32Array(cols.users.size), pin: new Int32Array(cols.pins.size), advertiser: new Int32Array(cols.advertisers.size) };
  for (const i of split.train) {
    trainImpressions.user[cols.user[i]]++;
    trainImpressions.pin[cols.pin[i]]++;
    trainImpressions.advertiser[cols.advertiser[i]]++;
  }
  let kgeScale = 1;
  if (embeddings) {
    const d = embeddings.dim;
    const N = embeddings.entities.length / d;
    let normSum = 0;
    for (let e = 0; e < N; e++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += embeddings.entities[e * d + k] ** 2;
      normSum += Math.sqrt(s);
    }
    const mean = N ? normSum / N : 1;
    kgeScale = mean > 0 ? 1 / mean : 1;
  }
  let offsite: OffsiteRows | null = null;
  if (opts.graph) {
    const nb = offsiteNeighbours(opts.graph.set, cols);
    const N = opts.offsiteTokens ?? 16;
    const R = OFFSITE_RELATIONS.length;
    const features = offsiteFeatures(nb, cols);
    const standard = standardizeFeatures(features, OFFSITE_FEATURES, split.train);
    offsite = {
      tokens: N, advertiser: new Int32Array(n * N).fill(-1), relation: new Float32Array(n * N * R), features, edges: nb.edges, users: nb.byUser.filter((l) => l.length > 0).length,
      graph: { dir: opts.graph.dir, window: opts.graph.set.manifest.window ?? { from: null, to: null } }, featureMean: standard.mean, featureScale: standard.scale,
    };
    // Tokens come from the whole snapshot even for training rows (unlike the features): on a split of the
    // training days, tokens as of the row's day scored 0.002 lower CVR AUC over two seeds (docs/benchmarks.md).
    for (let i = 0; i < n; i++) {
      const list = nb.byUser[cols.user[i]];
      for (let k = 0; k < Math.min(N, list.length); k++) {
        offsite.advertiser[i * N + k] = advRow[list[k][1]];
        offsite.relation[(i * N + k) * R + list[k][0]] = 1;
      }
    }
  }
  return {
    offsite,
    cols,
    split,
    historyLength: H,
    sparseUser: sparseUsers(cols, split.train, opts.sparseThreshold ?? 3),
    mappers,
    rows,
    trainImpressions,
    embeddings,
    kgeScale,
  };
}
