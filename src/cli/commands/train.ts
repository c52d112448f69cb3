/**
 * `adkg train`: trains TransE / TransR / TransRA on a TripleSet directory, prints each epoch's loss
 * and validation MRR, checkpoints every epoch into OUT/checkpoint, writes the embedding export into
 * OUT, and with --json ends with one JSON line of results.
 */
import * as path from 'path';
import { Command } from 'commander';
import { readTripleSet, type TripleSet } from '../../common/triple-set';
import { EMBEDDING_FORMAT } from '../../common/embedding-export';
import { assertOutputFolder } from '../../common/output-folder';
import {
  MODEL_NAMES, defaultsFor, defaultsForGraph, evaluateModel, splitTrainValidTest, trainModel, writeEmbeddingExport, checkpointDirOf,
  type BackendName, type KgeDataset, type LossName, type ModelName, type NormName, type SamplingName, type CorruptionName, type OptimizerName,
  type ConstraintName, type TrainConfig, type LinkPredictionMetrics,
} from '../../kge';
import { selectAnchors, DEFAULT_ANCHOR_TYPES } from '../../graph/algorithms/anchor-selection';
import { parseChoice, parseFloatOption, parsePositiveFloatOption, parseIntOption } from '../options';
import { resolveBackend } from '../backend-choice';

interface TrainCliOptions {
  triples: string;
  model: ModelName;
  dim?: number;
  relDim?: number;
  epochs?: number;
  batch?: number;
  negatives?: number;
  lr?: number;
  relationLr?: number;
  loss?: LossName;
  margin?: number;
  temperature?: number;
  norm?: NormName;
  sampling?: SamplingName;
  chunkSize?: number;
  corruption?: CorruptionName;
  optimizer?: OptimizerName;
  relationOptimizer?: OptimizerName;
  constraint?: ConstraintName;
  anchorsK: number;
  anchorTypes: string;
  anchorDegree?: number;
  anchorHops: number;
  backend: BackendName | 'auto';
  threads: number;
  seed: number;
  validSample: number;
  resume?: boolean;
  out: string;
  json?: boolean;
  progress: boolean;
}

function defaultsHelp(): string {
  const lines = MODEL_NAMES.map((m) => {
    const d = defaultsFor(m);
    const c = d.config;
    return `  ${m.padEnd(8)} dim ${d.dim}${m === 'transe' ? '' : `, rel-dim ${d.relDim}`}, epochs ${d.epochs}, batch ${d.batchSize}, ` +
      `${c.negatives} ${c.sampling} ${c.corruption} negatives${c.sampling === 'shared' ? ` (chunks of ${c.chunkSize})` : ''}, ` +
      `${c.loss} loss (margin ${c.margin}, self-adversarial temperature ${c.adversarialTemperature}), ${c.norm}, ` +
      `${c.entityOptimizer} lr ${c.lr} (relations ${c.relationOptimizer} lr ${c.relationLr}), constraint ${c.constraint}`;
  });
  lines.push('  Batch and epochs scale with the graph: batch = train/50 within [128, 1024]; epochs so a run takes about');
  lines.push('  8000 steps, within [30, 300] (the figures above are for graphs of 50k+ triples, e.g. FB15k-237).');
  return `\nDefaults per model (docs/kge.md):\n${lines.join('\n')}\n` +
    '\nWithout valid/test splits (graph snapshots) 5% + 5% of train are split off, seeded, and the output says so.\n' +
    'The export (manifest.json, entities.npy, relations.npy, projections.npy, anchors.npy, entity_ids.tsv, relation_ids.tsv)\n' +
    'goes into --out; the per-epoch checkpoint into --out/checkpoint.\n';
}

function metricsJson(m: LinkPredictionMetrics): { mrr: number; hits1: number; hits3: number; hits10: number; mr: number; count: number } {
  return { mrr: m.mrr, hits1: m.hits1, hits3: m.hits3, hits10: m.hits10, mr: m.mr, count: m.count };
}

export async function runTrain(o: TrainCliOptions): Promise<Record<string, unknown>> {
  const started = Date.now();
  const log = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  const say = (s: string): void => {
    // Epoch lines go to stdout unless --json reserves stdout for the result.
    if (o.json) log(s);
    else process.stdout.write(`${s}\n`);
  };
  // Before the checkpoint or the export writes anything: --out must not be --triples, nor hold another artefact.
  await assertOutputFolder(o.out, EMBEDDING_FORMAT, { inputs: [{ option: '--triples', dir: o.triples }] });
  const ts: TripleSet = await readTripleSet(o.triples);
  const backend = resolveBackend(o.backend, log);
  let { train, valid, test } = ts.splits;
  let splitNote: string | null = null;
  if (!valid || !test || valid.heads.length === 0 || test.heads.length === 0) {
    const s = splitTrainValidTest(train!, ts.entities.length, ts.relations.length, o.seed);
    ({ train, valid, test } = s);
    splitNote = `no valid/test splits in ${o.triples}: split train deterministically (seed ${o.seed}) into ${train.heads.length} train / ${valid.heads.length} valid / ${test.heads.length} test`;
    log(splitNote);
  }
  const defaults = defaultsForGraph(o.model, train!.heads.length);
  const typed = Object.keys(ts.manifest.entityTypes ?? {}).length > 1;
  const data: KgeDataset = { entities: ts.entities, relations: ts.relations, train: train!, valid, test };
  if (o.model === 'transra') {
    const byType = o.anchorTypes.split(',').map((s) => s.trim()).filter(Boolean);
    data.anchorIndex = selectAnchors(ts.entities, [train!], { byType, byDegree: o.anchorDegree, k: o.anchorsK, maxHops: o.anchorHops });
    log(`anchors: ${data.anchorIndex.anchors.length} (types ${byType.join(',') || 'none'} + ${data.anchorIndex.selection.byDegree} by degree), ${o.anchorsK} per entity within ${o.anchorHops} hops`);
  }
  const config: TrainConfig = {
    ...defaults.config,
    ...(o.loss ? { loss: o.loss } : {}),
    ...(o.margin !== undefined ? { margin: o.margin } : {}),
    ...(o.temperature !== undefined ? { adversarialTemperature: o.temperature } : {}),
    ...(o.norm ? { norm: o.norm } : {}),
    ...(o.negatives !== undefined ? { negatives: o.negatives } : {}),
    ...(o.sampling ? { sampling: o.sampling } : {}),
    ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
    ...(o.corruption ? { corruption: o.corruption } : {}),
    ...(o.optimizer ? { entityOptimizer: o.optimizer } : {}),
    ...(o.relationOptimizer ? { relationOptimizer: o.relationOptimizer } : {}),
    ...(o.lr !== undefined ? { lr: o.lr, relationLr: o.lr } : {}),
    ...(o.relationLr !== undefined ? { relationLr: o.relationLr } : {}),
    ...(o.constraint ? { constraint: o.constraint } : {}),
    seed: o.seed >>> 0,
    threads: o.threads,
  };
  const epochs = o.epochs ?? defaults.epochs;
  const dim = o.dim ?? defaults.dim;
  const relDim = o.model === 'transe' ? dim : o.relDim ?? defaults.relDim;
  say(`train ${o.model} on ${ts.manifest.source} (${ts.entities.length} entities, ${ts.relations.length} relations, ${train!.heads.length} train triples), backend ${backend}, dim ${dim}${o.model === 'transe' ? '' : `×${relDim}`}, ${epochs} epochs`);
  const model = await trainModel(data, {
    model: o.model, dim, relDim, epochs, batchSize: o.batch ?? defaults.batchSize, config, backend,
    validSample: o.validSample, typedEvaluation: typed, checkpointDir: checkpointDirOf(o.out), resume: o.resume,
    log: say, progress: o.progress && process.stderr.isTTY === true,
  });
  try {
    const progress = o.progress && process.stderr.isTTY === true;
    const validM = await evaluateModel(model, valid!, { progress, label: 'valid' });
    const testM = await evaluateModel(model, test!, { progress, label: 'test' });
    say(`valid (filtered, all entities): MRR ${validM.mrr.toFixed(4)} Hits@1 ${validM.hits1.toFixed(4)} Hits@3 ${validM.hits3.toFixed(4)} Hits@10 ${validM.hits10.toFixed(4)}`);
    say(`test  (filtered, all entities): MRR ${testM.mrr.toFixed(4)} Hits@1 ${testM.hits1.toFixed(4)} Hits@3 ${testM.hits3.toFixed(4)} Hits@10 ${testM.hits10.toFixed(4)}`);
    const typedMetrics: Record<string, unknown> = {};
    if (typed) {
      const v = await evaluateModel(model, valid!, { typed: true, progress, label: 'valid typed' });
      const t = await evaluateModel(model, test!, { typed: true, progress, label: 'test typed' });
      typedMetrics.typed = { valid: metricsJson(v), test: metricsJson(t) };
      say(`test  (filtered, entities of the right type): MRR ${t.mrr.toFixed(4)} Hits@10 ${t.hits10.toFixed(4)}`);
    }
    const seconds = (Date.now() - started) / 1000;
    const result: Record<string, unknown> = {
      model: o.model,
      backend,
      epochs,
      dim,
      relDim,
      seconds,
      trainSeconds: model.trainSeconds,
      positivesPerSecond: model.positives / Math.max(model.trainSeconds, 1e-9),
      valid: metricsJson(validM),
      test: metricsJson(testM),
      ...typedMetrics,
      lossHistory: model.history.map((h) => h.loss),
      ...(model.resumedFromEpoch !== null ? { resumedFromEpoch: model.resumedFromEpoch } : {}),
      ...(splitNote ? { split: splitNote } : {}),
      config,
      out: path.resolve(o.out),
    };
    await writeEmbeddingExport(o.out, model.tables, {
      entities: ts.entities, relations: ts.relations, window: ts.manifest.window,
      data: { source: ts.manifest.source, path: path.resolve(o.triples) },
      metrics: { valid: result.valid, test: result.test, ...typedMetrics, epochs, config },
      version: `${o.model}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    });
    say(`export written to ${path.resolve(o.out)} (checkpoint in ${checkpointDirOf(path.resolve(o.out))})`);
    return result;
  } finally {
    model.backend.dispose();
  }
}

export function register(program: Command): void {
  const models = MODEL_NAMES;
  program
    .command('train')
    .description('Train TransE / TransR / TransRA embeddings on a TripleSet; evaluate (filtered MRR, Hits@1/3/10) and export')
    .requiredOption('--triples <dir>', 'TripleSet directory (from `adkg snapshot` or `adkg dataset import`)')
    .requiredOption('--model <name>', `model: ${models.join('|')}`, parseChoice('--model', models))
    .requiredOption('--out <dir>', 'output directory: export files and checkpoint/ (not --triples, nor a folder holding another artefact)')
    .option('--dim <d>', 'entity dimension (default per model, below)', parseIntOption('--dim', 1))
    .option('--rel-dim <k>', 'relation dimension for transr/transra (default per model)', parseIntOption('--rel-dim', 1))
    .option('--epochs <n>', 'epochs (default per model)', parseIntOption('--epochs', 0))
    .option('--batch <b>', 'positives per batch (default per model)', parseIntOption('--batch', 1))
    .option('--negatives <n>', 'negatives per positive (default per model)', parseIntOption('--negatives', 1))
    .option('--lr <x>', 'learning rate of every table (default per model)', parsePositiveFloatOption('--lr'))
    .option('--relation-lr <x>', 'learning rate of relation and projection tables (default: --lr)', parseFloatOption('--relation-lr', 0))
    .option('--loss <name>', 'margin|softplus (softplus uses self-adversarial weights)', parseChoice('--loss', ['margin', 'softplus'] as const))
    .option('--margin <g>', 'margin γ of either loss', parseFloatOption('--margin', 0))
    .option('--temperature <t>', 'self-adversarial temperature (0 = plain mean over negatives)', parseFloatOption('--temperature', 0))
    .option('--norm <p>', 'l1|l2 distance', parseChoice('--norm', ['l1', 'l2'] as const))
    .option('--sampling <s>', 'independent|shared negatives', parseChoice('--sampling', ['independent', 'shared'] as const))
    .option('--chunk-size <c>', 'positives sharing negatives (shared sampling)', parseIntOption('--chunk-size', 1))
    .option('--corruption <c>', 'uniform|bernoulli|typed', parseChoice('--corruption', ['uniform', 'bernoulli', 'typed'] as const))
    .option('--optimizer <o>', 'row-sparse optimizer of entity/anchor tables: adagrad|adam', parseChoice('--optimizer', ['adagrad', 'adam'] as const))
    .option('--relation-optimizer <o>', 'optimizer of relation/projection tables: adagrad|adam', parseChoice('--relation-optimizer', ['adagrad', 'adam'] as const))
    .option('--constraint <c>', 'none|unit-ball (clamp entity/relation norms to ≤ 1 after each step)', parseChoice('--constraint', ['none', 'unit-ball'] as const))
    .option('--anchors-k <k>', 'transra: anchors per entity', parseIntOption('--anchors-k', 1), 8)
    .option('--anchor-types <list>', 'transra: node types whose every entity is an anchor', DEFAULT_ANCHOR_TYPES.join(','))
    .option('--anchor-degree <n>', 'transra: highest-degree entities added as anchors (default clamp(√N, 8, 1024))', parseIntOption('--anchor-degree', 0))
    .option('--anchor-hops <h>', 'transra: deepest BFS level searched for anchors', parseIntOption('--anchor-hops', 1), 4)
    .option('--backend <b>', 'js|native|cuda, or auto = cuda when its addon is built and a CUDA device answers, else native when its addon is built, else js', parseChoice('--backend', ['auto', 'js', 'native', 'cuda'] as const), 'auto')
    .option('--threads <n>', 'native worker threads (0 = all cores)', parseIntOption('--threads', 0), 0)
    .option('--seed <s>', 'seed of every random choice', parseIntOption('--seed', 0), 1)
    .option('--valid-sample <n>', 'valid triples ranked after each epoch (0 = none); the full valid and test sets are ranked at the end', parseIntOption('--valid-sample', 0), 500)
    .option('--resume', 'continue from --out/checkpoint (same result as an uninterrupted run)')
    .option('--json', 'print epoch lines to stderr and a JSON result as the last stdout line')
    .option('--no-progress', 'no progress bars')
    .addHelpText('after', defaultsHelp())
    .action(async (opts: TrainCliOptions) => {
      const result = await runTrain(opts);
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}
