/**
 * Inductive link prediction (issue 4, DESIGN §4): a share of the entities is held out of training
 * entirely; after training, TransRA embeds them from their anchors alone (ê = 0) and TransR uses its
 * best fallback (mean of trained vectors, or zero). Reported: filtered MRR / Hits@10 on the query triples
 * that touch held-out entities, per model, with each model's documented defaults on the native backend.
 *
 *   npm run build && npx tsc -p tsconfig.json --outDir build/bench && \
 *     node build/bench/bench/kge-inductive.js [--triples DIR] [--dataset kinship|umls|nations] [--held-out 0.1] [--seed 3]
 *
 * --triples takes any TripleSet (e.g. an `adkg snapshot` of a simulated world, typed: anchors are then every
 * Advertiser and Category plus the top-degree entities); otherwise a KG benchmark from ../shared/datasets.
 * Last line: {"data", "heldOut", "queries", "transra":{mrr,hits10,fallback}, "transr":{...}}.
 */
import { readTripleSet, type TripleSet } from '../src/common/triple-set';
import { selectAnchors } from '../src/graph/algorithms/anchor-selection';
import { defaultsForGraph, evaluateInductive, inductiveSplit, trainModel, type KgeDataset } from '../src/kge';
import { readKgArchive } from '../test/kge-fixtures';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main(): Promise<void> {
  const triplesDir = arg('triples', '');
  const ts: TripleSet = triplesDir ? await readTripleSet(triplesDir) : await readKgArchive(arg('dataset', 'kinship') as 'kinship' | 'umls' | 'nations');
  const fraction = Number(arg('held-out', '0.1'));
  const seed = Number(arg('seed', '3'));
  const all = ts.splits.train!;
  const split = inductiveSplit(all, ts.entities.length, fraction, seed);
  const typed = ts.entities.some((e) => e.type !== 'Entity');
  // Anchors never include held-out entities: they are chosen on the training graph alone.
  const anchorIndex = selectAnchors(ts.entities, [split.train], { ...(typed ? {} : { byType: [] }), excluded: split.isHeldOut });
  const supportAnchors = selectAnchors(ts.entities, [split.train, split.support], { anchors: anchorIndex.anchors, k: anchorIndex.k });
  const data: KgeDataset = { entities: ts.entities, relations: ts.relations, train: split.train, anchorIndex };
  const label = triplesDir || arg('dataset', 'kinship');
  process.stderr.write(`${label}: ${ts.entities.length} entities, ${split.heldOut.length} held out, ` +
    `${split.train.heads.length} training / ${split.query.heads.length} query triples; ${anchorIndex.anchors.length} anchors, k=${anchorIndex.k}\n`);
  const out: Record<string, unknown> = { data: label, heldOut: split.heldOut.length, queries: split.query.heads.length };
  for (const model of ['transra', 'transr'] as const) {
    const d = defaultsForGraph(model, split.train.heads.length);
    const t0 = Date.now();
    const m = await trainModel(data, { model, dim: d.dim, relDim: d.relDim, epochs: d.epochs, batchSize: d.batchSize, config: { ...d.config, seed, threads: 0 }, backend: 'native', progress: false });
    const r = await evaluateInductive(m.backend, m.tables, split, model === 'transra' ? supportAnchors : undefined);
    m.backend.dispose();
    const res = { mrr: Number(r.best.mrr.toFixed(4)), hits10: Number(r.best.hits10.toFixed(4)), fallback: r.best.fallback, seconds: (Date.now() - t0) / 1000,
      byFallback: Object.fromEntries(Object.entries(r.byFallback).map(([k, v]) => [k, Number(v!.mrr.toFixed(4))])) };
    process.stderr.write(`${model}: inductive MRR ${res.mrr} Hits@10 ${res.hits10} (${res.fallback}), ${res.seconds.toFixed(0)} s\n`);
    out[model] = res;
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(`bench/kge-inductive: ${(e as Error).message}`);
  process.exit(1);
});
