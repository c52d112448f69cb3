/**
 * Training on real tiny graphs (nations, kinship from ../shared/datasets/kg) lifts filtered MRR well
 * above random; the inductive split embeds held-out entities from their anchors; anchor selection
 * finds the K nearest anchors by hops; `adkg train` runs end to end with --json and --resume.
 */
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readKgArchive } from './kge-fixtures';
import {
  trainModel, evaluateModel, inductiveSplit, evaluateInductive, defaultsForGraph, readNpy, type TrainConfig, type KgeDataset,
} from '../src/kge';
import { selectAnchors, nearestAnchors } from '../src/graph/algorithms/anchor-selection';
import { writeTripleSet, type TripleArrays } from '../src/common/triple-set';
import { buildProgram } from '../src/cli/main';
import * as registry from '../src/kge/backends/registry';
import { jsBackendFactory } from '../src/kge/backends/js';
import type { KgeBackend, TrainRun } from '../src/kge/backends/backend';

const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  // Fixed settings, not the TransE defaults (test/kge-defaults.test.ts covers those): lr 0.01 is an Adam-scale rate.
  ...defaultsForGraph('transe', 1000).config, entityOptimizer: 'adam', relationOptimizer: 'adam', corruption: 'uniform',
  lr: 0.01, relationLr: 0.01, negatives: 16, seed: 5, threads: 1, ...over,
});

/** MRR of a model that ranks at random among N entities (expected 1/rank, ties aside): H_N / N. */
function randomMrr(n: number): number {
  let h = 0;
  for (let i = 1; i <= n; i++) h += 1 / i;
  return h / n;
}

describe('training on real graphs', () => {
  test('kinship: TransE reaches an MRR far above random', async () => {
    const ts = await readKgArchive('kinship');
    const data: KgeDataset = { entities: ts.entities, relations: ts.relations, train: ts.splits.train!, valid: ts.splits.valid, test: ts.splits.test };
    const m = await trainModel(data, { model: 'transe', dim: 32, relDim: 32, epochs: 12, batchSize: 256, config: config(), backend: 'js', progress: false });
    const test = await evaluateModel(m, ts.splits.test!);
    m.backend.dispose();
    const random = randomMrr(ts.entities.length);
    expect(test.mrr).toBeGreaterThan(3 * random);
    expect(test.hits10).toBeGreaterThan(0.4);
    // The loss went down.
    expect(m.history[m.history.length - 1].loss).toBeLessThan(m.history[0].loss);
  });

  test('nations: TransR and TransRA learn too', async () => {
    const ts = await readKgArchive('nations');
    const train = ts.splits.train!;
    const anchorIndex = selectAnchors(ts.entities, [train], { byType: [], byDegree: 4, k: 3 });
    const data: KgeDataset = { entities: ts.entities, relations: ts.relations, train, valid: ts.splits.valid, test: ts.splits.test, anchorIndex };
    for (const model of ['transr', 'transra'] as const) {
      const m = await trainModel(data, { model, dim: 16, relDim: 16, epochs: 20, batchSize: 128, config: config(), backend: 'js', progress: false });
      const r = await evaluateModel(m, ts.splits.test!);
      m.backend.dispose();
      // 14 entities: random MRR ≈ 0.23.
      expect(r.mrr).toBeGreaterThan(randomMrr(ts.entities.length) + 0.1);
    }
  });
});

describe('a backend with trainRun (the cuda fast path)', () => {
  test('the trainer hands it each epoch in one call, with the same result as batch by batch', async () => {
    const ts = await readKgArchive('nations');
    const data: KgeDataset = { entities: ts.entities, relations: ts.relations, train: ts.splits.train!, valid: ts.splits.valid, test: ts.splits.test };
    const opts = { model: 'transr' as const, dim: 12, relDim: 8, epochs: 3, batchSize: 128, config: config({ sampling: 'shared', chunkSize: 32 }), backend: 'js' as const, progress: false };
    const plain = await trainModel(data, opts);
    plain.backend.dispose();
    // js with a trainRun that replays trainBatch: what a device backend promises (same results, one call).
    const runs: TrainRun[] = [];
    const spy = jest.spyOn(registry, 'createBackend').mockImplementation((name, init) => {
      const inner = jsBackendFactory.create(init);
      const withRun: KgeBackend = {
        name: inner.name,
        trainBatch: (b) => inner.trainBatch(b),
        scoreAll: (q, out) => inner.scoreAll(q, out),
        sampleNegatives: (b) => inner.sampleNegatives(b),
        gradients: (b) => inner.gradients(b),
        dispose: () => inner.dispose(),
        trainRun: async (run) => {
          runs.push(run);
          const n = run.heads.length, losses = new Float64Array(Math.ceil(n / run.batchSize));
          for (let i = 0; i < losses.length; i++) {
            const s = i * run.batchSize, e = Math.min(n, s + run.batchSize);
            losses[i] = await inner.trainBatch({ heads: run.heads.subarray(s, e), relations: run.relations.subarray(s, e), tails: run.tails.subarray(s, e), epoch: run.epoch, offset: run.offset + s, step: run.firstStep + i });
          }
          return { losses };
        },
      };
      return withRun;
    });
    try {
      const viaRun = await trainModel(data, opts);
      viaRun.backend.dispose();
      const perEpoch = Math.ceil(data.train.heads.length / 128);
      expect(runs.map((r) => [r.epoch, r.offset, r.heads.length, r.batchSize, r.firstStep])).toEqual(
        [0, 1, 2].map((epoch) => [epoch, 0, data.train.heads.length, 128, 1 + epoch * perEpoch]));
      expect(viaRun.history.map((h) => h.loss)).toEqual(plain.history.map((h) => h.loss));
      expect(Array.from(viaRun.tables.entity)).toEqual(Array.from(plain.tables.entity));
      expect(Array.from(viaRun.tables.projection!)).toEqual(Array.from(plain.tables.projection!));
    } finally {
      spy.mockRestore();
    }
  });
});

describe('anchor selection', () => {
  test('K nearest anchors by hops on a path graph', () => {
    // 0 - 1 - 2 - 3 - 4, anchors at 0 and 4.
    const off = Int32Array.from([0, 1, 3, 5, 7, 8]);
    const adj = Int32Array.from([1, 0, 2, 1, 3, 2, 4, 3]);
    const { anchorOf, hops } = nearestAnchors(off, adj, Int32Array.from([0, 4]), 2, 10);
    // entity 1: anchor 0 (slot 0) at 1 hop, anchor 4 (slot 1) at 3 hops.
    expect(Array.from(anchorOf.subarray(2, 4))).toEqual([0, 1]);
    expect(Array.from(hops.subarray(2, 4))).toEqual([1, 3]);
    // entity 3: slot 1 first (1 hop), then slot 0 (3 hops).
    expect(Array.from(anchorOf.subarray(6, 8))).toEqual([1, 0]);
    expect(Array.from(hops.subarray(6, 8))).toEqual([1, 3]);
    // maxHops 1: entity 2 is 2 hops from both, so it gets none.
    const near = nearestAnchors(off, adj, Int32Array.from([0, 4]), 2, 1);
    expect(Array.from(near.anchorOf.subarray(4, 6))).toEqual([-1, -1]);
  });

  test('by type and by degree', () => {
    const entities = ['u0', 'u1', 'u2', 'adv', 'hub'].map((id, i) => ({ id, type: i === 3 ? 'Advertiser' : 'User' }));
    const t: TripleArrays = { heads: Int32Array.from([0, 1, 2, 0, 1]), relations: Int32Array.from([0, 0, 0, 0, 0]), tails: Int32Array.from([4, 4, 4, 3, 3]) };
    const ai = selectAnchors(entities, [t], { byType: ['Advertiser'], byDegree: 1, k: 2 });
    expect(Array.from(ai.anchors)).toEqual([3, 4]);
    expect(ai.anchorOf[2 * 2]).toBe(1); // u2 touches only the hub
    expect(ai.hops[2 * 2]).toBe(1);
  });
});

describe('inductive split (TransRA vs TransR fallback)', () => {
  test('held-out entities never appear in training; TransRA embeds them from anchors', async () => {
    const ts = await readKgArchive('kinship');
    const all = ts.splits.train!;
    const split = inductiveSplit(all, ts.entities.length, 0.1, 3);
    for (let i = 0; i < split.train.heads.length; i++) {
      expect(split.isHeldOut[split.train.heads[i]] || split.isHeldOut[split.train.tails[i]]).toBe(0);
    }
    expect(split.query.heads.length).toBeGreaterThan(20);
    const anchorIndex = selectAnchors(ts.entities, [split.train], { byType: [], byDegree: 16, k: 4, excluded: split.isHeldOut });
    const supportAnchors = selectAnchors(ts.entities, [split.train, split.support], { anchors: anchorIndex.anchors, k: 4 });
    const data: KgeDataset = { entities: ts.entities, relations: ts.relations, train: split.train, anchorIndex };
    const results: Record<string, number> = {};
    for (const model of ['transra', 'transr'] as const) {
      const m = await trainModel(data, { model, dim: 16, relDim: 16, epochs: 5, batchSize: 256, config: config(), backend: 'js', progress: false });
      const r = await evaluateInductive(m.backend, m.tables, split, model === 'transra' ? supportAnchors : undefined);
      m.backend.dispose();
      results[model] = r.best.mrr;
      if (model === 'transr') expect(Object.keys(r.byFallback).sort()).toEqual(['mean', 'zero']);
      else expect(r.best.fallback).toBe('anchors');
    }
    // Both are defined and ranks are valid; the bench reports the comparison.
    expect(results.transra).toBeGreaterThan(randomMrr(ts.entities.length));
    expect(results.transr).toBeGreaterThan(0);
  });
});

describe('adkg train', () => {
  test('--json result, export files numpy can read, resume equals uninterrupted', async () => {
    const ts = await readKgArchive('nations');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kge-cli-'));
    const write = process.stdout.write.bind(process.stdout);
    const run = async (args: string[]): Promise<Record<string, unknown>> => {
      let out = '';
      (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => ((out += s), true);
      const errWrite = process.stderr.write.bind(process.stderr);
      (process.stderr as unknown as { write: (s: string) => boolean }).write = () => true;
      try {
        await buildProgram().exitOverride().parseAsync(['node', 'adkg', 'train', ...args]);
      } finally {
        (process.stdout as unknown as { write: typeof write }).write = write;
        (process.stderr as unknown as { write: typeof errWrite }).write = errWrite;
      }
      const lines = out.trim().split('\n');
      return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    };
    try {
      await writeTripleSet(path.join(dir, 'nations'), ts);
      const base = ['--triples', path.join(dir, 'nations'), '--model', 'transe', '--dim', '8', '--json', '--no-progress', '--lr', '0.01'];
      const common = [...base, '--backend', 'js'];
      const full = await run([...common, '--epochs', '4', '--out', path.join(dir, 'full')]);
      for (const k of ['model', 'backend', 'epochs', 'seconds', 'positivesPerSecond']) expect(full[k]).toBeDefined();
      expect(Object.keys(full.valid as object)).toEqual(expect.arrayContaining(['mrr', 'hits1', 'hits3', 'hits10']));
      expect(Object.keys(full.test as object)).toEqual(expect.arrayContaining(['mrr', 'hits1', 'hits3', 'hits10']));
      await run([...common, '--epochs', '2', '--out', path.join(dir, 'part')]);
      const resumed = await run([...common, '--epochs', '4', '--out', path.join(dir, 'part'), '--resume']);
      expect(resumed.resumedFromEpoch).toBe(2);
      expect(resumed.lossHistory).toEqual(full.lossHistory);
      expect(resumed.test).toEqual(full.test);
      // Other settings: refused, naming what changed (and nothing else).
      await expect(run([...common, '--epochs', '4', '--dim', '16', '--out', path.join(dir, 'part'), '--resume'])).rejects.toThrow(
        /cannot resume from .*checkpoint: it was made with other settings or data \(dim 8 → 16, relDim 8 → 16\); use the same settings/,
      );
      const manifest = JSON.parse(readFileSync(path.join(dir, 'full', 'manifest.json'), 'utf8'));
      expect(manifest.model).toBe('transe');
      const ent = await readNpy(path.join(dir, 'full', 'entities.npy'));
      expect(ent.shape).toEqual([ts.entities.length, 8]);
      expect(readFileSync(path.join(dir, 'full', 'entity_ids.tsv'), 'utf8').split('\n')[0]).toBe(`${ts.entities[0].id}\tEntity`);
      expect(existsSync(path.join(dir, 'full', 'checkpoint', 'state.json'))).toBe(true);
      // auto: the fastest backend that can run here (cuda with a device, else native when built, else js).
      const expected = registry.getBackendFactory('cuda').available().ok ? 'cuda' : registry.getBackendFactory('native').available().ok ? 'native' : 'js';
      const auto = await run([...base, '--epochs', '1', '--out', path.join(dir, 'auto')]);
      expect(auto.backend).toBe(expected);
      // cuda is not built here: a clear error.
      await expect(run([...common, '--epochs', '1', '--backend', 'cuda', '--out', path.join(dir, 'c')])).rejects.toThrow(/cuda.*unavailable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
