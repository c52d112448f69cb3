/**
 * bench/kge-gpu: adkg's cuda backend against eager PyTorch on the same GPU, in the same run, plus
 * FB15k-237 MRR of cuda vs native after the same short schedule. Runs on the GPU machine from the
 * compiled copy that bench/kge-gpu/prepare.sh puts in .device/app (run.sh starts it; see README.md).
 *
 * Throughput: TransE d=128 and TransR d=k=128, 64 negatives per positive, softplus loss, sparse Adam for
 * entities (PyTorch: SparseAdam) and Adam for relations/projections, on a synthetic graph of 1M entities and
 * 10M triples; both sampling schemes of bench/kge-cpu:
 *   independent  64 fresh negatives per positive, batch 32,768
 *   shared       chunks of 256 positives of one relation share 64 negatives, batch 65,536
 *                (PyTorch as PyTorch-BigGraph does it: negatives projected once per chunk, torch.cdist)
 * adkg: CudaBackend.trainRun over W warm-up and then S timed batches; positives/s = S·B / step seconds
 * (the table copies at the start and end of a call are reported apart). PyTorch: the same batches.
 *
 * TransR runs once per GEMM math of the projections (--gemm, the engine's gemm option: simt = FP32 FMA tiles, tf32x3 =
 * tensor cores at FP32-level rounding, tf32 = plain TF32; default tf32x3 alone: the other two were measured in
 * session 8, their code has not changed, and device time is scarce); the first listed is the plain key ("independent"),
 * the others "independent@tf32x3" and so on. tf32 is a numerics change, so PyTorch also runs TransR with
 * allow_tf32 (--pytorch-tf32, on by default when tf32 is listed) and those entries carry ratioTf32 against it.
 *
 *   node .device/app/bench/kge-gpu/run.js --out DIR [--steps S] [--warmup W] [--fb15k DIR] [--skip-pytorch]
 *       [--models transe,transr] [--configs independent,shared,shared-262k,independent-131k] [--placement auto|resident|hybrid]
 *       [--gemm tf32x3[,simt,tf32]] [--epoch-configs shared-262k] [--hybrid-configs shared] [--hybrid-hot 250000]
 * Each --hybrid-configs setting is also measured with placement hybrid (key "shared@hybrid"): entity rows in host
 * memory, the --hybrid-hot most used on the device, the rest staged per batch; and again with staging mapped (key
 * "shared@hybrid-mapped": the device moves the staged rows through the page-locked host tables itself).
 * Each --epoch-configs setting also trains a whole epoch in one trainRun after the timed call (tables kept on
 * the device, copied back at the end): "epoch": {positivesPerSecond, wallSeconds, sync/step seconds}.
 *
 * Last line: {"device":…, "throughput":{"transe":{"independent":{"adkg":P,"pytorch":P,"ratio":R},…},
 *             "transr":{"independent":{…,"gemm":"tf32x3"},"independent@simt":{…},…}},
 *             "fb15k237":{"cuda":{"mrr":…},"native":{"mrr":…}}}
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SeededRandom } from '../../src/common/rng';
import type { BackendInit, KgeBackend, ModelName, SamplingName, SamplingTables, TrainConfig } from '../../src/kge/backends/backend';
import { CUDA_GEMMS, CUDA_STAGINGS, CudaBackend, cudaDeviceInfo, cudaUnavailableReason, type CudaGemm, type CudaStaging } from '../../src/kge/backends/cuda';
import { nativeBackendFactory } from '../../src/kge/backends/native';
import { allocateTables, createOptimizerState, initializeTables } from '../../src/kge/model';
import { buildSamplingTables } from '../../src/kge/sampling/sampling-tables';
import { epochPermutation, relationChunkedOrder } from '../../src/kge/sampling/epoch-order';
import { FilterIndex } from '../../src/kge/evaluation/filter-index';
import { evaluateLinkPrediction } from '../../src/kge/evaluation/link-prediction';

const argv = process.argv.slice(2);
function arg(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
}
const OUT = arg('out', '/tmp/adkg-kge-gpu');
const STEPS = Number(arg('steps', '30'));
const WARMUP = Number(arg('warmup', '5'));
const ENTITIES = Number(arg('entities', '1000000'));
const TRIPLES = Number(arg('triples', '10000000'));
const RELATIONS = Number(arg('relations', '200'));
const FB_DIR = arg('fb15k', '');
const SKIP_PYTORCH = argv.includes('--skip-pytorch');
// hybrid: the entity rows stay in host memory with a device cache of the hottest (what a table larger than the
// GPU gets); measures that path at full size on a GPU where the table would fit.
const PLACEMENT = arg('placement', 'auto') as 'auto' | 'resident' | 'hybrid';
if (!['auto', 'resident', 'hybrid'].includes(PLACEMENT)) throw new Error(`--placement must be auto, resident or hybrid, got ${PLACEMENT}`);
const DIM = 128, NEG = 64, CHUNK = 256;
const MODELS = (arg('models', 'transe,transr').split(',') as ModelName[]);
const GEMMS = arg('gemm', 'tf32x3').split(',').filter(Boolean) as CudaGemm[];
for (const g of GEMMS) if (!CUDA_GEMMS.includes(g)) throw new Error(`--gemm takes ${CUDA_GEMMS.join(', ')}, got ${g}`);
const PYTORCH_TF32 = GEMMS.includes('tf32') && !argv.includes('--no-pytorch-tf32');
// Settings also measured in the hybrid placement (host rows + a device cache of the hottest HYBRID_HOT rows, what a
// table larger than the GPU gets), under the first GEMM math: keys "shared@hybrid" (staging copy) and
// "shared@hybrid-mapped".
const HYBRID_CONFIGS = arg('hybrid-configs', 'shared').split(',').filter(Boolean);
const HYBRID_HOT = Number(arg('hybrid-hot', '250000'));
// Settings that also train one whole epoch (10M positives) in one call, the end-to-end rate `adkg train` sees.
const EPOCH_CONFIGS = arg('epoch-configs', 'shared-262k').split(',').filter(Boolean);
const CONFIGS: ThroughputConfig[] = [
  { name: 'independent', sampling: 'independent', batch: 32768 },
  { name: 'shared', sampling: 'shared', batch: 65536 },
  { name: 'shared-262k', sampling: 'shared', batch: 262144 },
  { name: 'independent-131k', sampling: 'independent', batch: 131072 },
].filter((c) => arg('configs', 'independent,shared,shared-262k,independent-131k').split(',').includes(c.name)) as ThroughputConfig[];

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

/** Power-law degrees (ads graphs are skewed); relations Zipf-like; shared-mode order by relation chunks. */
function syntheticGraph(N: number, T: number, R: number, seed: number): { heads: Int32Array; relations: Int32Array; tails: Int32Array } {
  const rng = new SeededRandom(seed);
  const heads = new Int32Array(T), relations = new Int32Array(T), tails = new Int32Array(T);
  const skewed = (n: number) => Math.min(n - 1, Math.floor(n * Math.pow(rng.next(), 2.5)));
  for (let i = 0; i < T; i++) {
    relations[i] = skewed(R);
    heads[i] = skewed(N);
    tails[i] = (heads[i] + 1 + rng.int(N - 1)) % N;
  }
  return { heads, relations, tails };
}

function config(sampling: SamplingName, over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    loss: 'softplus', margin: 9, adversarialTemperature: 0, norm: 'l2', negatives: NEG, sampling, chunkSize: CHUNK,
    corruption: 'uniform', entityOptimizer: 'adam', relationOptimizer: 'adam', lr: 0.001, relationLr: 0.001,
    constraint: 'none', learnAnchorWeights: false, seed: 42, threads: 0, ...over,
  };
}

// Sampling tables depend only on the triples (not on the model or settings): built once per graph (6.5 s at 10M
// triples on the 2-core dev box).
const samplingCache = new WeakMap<object, SamplingTables>();

function makeInit(model: ModelName, N: number, R: number, dim: number, cfg: TrainConfig, trainTriples: { heads: Int32Array; relations: Int32Array; tails: Int32Array }): BackendInit {
  const tables = allocateTables({ model, numEntities: N, numRelations: R, dim, relDim: dim, anchorIndex: null });
  initializeTables(tables, cfg.seed, 8 / dim);
  const optimizer = createOptimizerState(tables, cfg.entityOptimizer, cfg.relationOptimizer);
  let sampling = samplingCache.get(trainTriples);
  if (!sampling) {
    const entities = Array.from({ length: N }, () => ({ id: '', type: 'e' }));
    sampling = buildSamplingTables(trainTriples, entities, R);
    samplingCache.set(trainTriples, sampling);
  }
  return { tables, optimizer, config: cfg, sampling };
}

/** One measured setting's figures (see the last-line JSON in the header). */
type Entry = Record<string, number | string | boolean | Record<string, number | boolean>>;

/** The measured settings: a sampling scheme at a batch size (the shared one at two sizes, as the issue's reference). */
interface ThroughputConfig {
  name: string;
  sampling: SamplingName;
  batch: number;
}

async function throughput(graph: { heads: Int32Array; relations: Int32Array; tails: Int32Array }): Promise<Record<string, Record<string, Entry>>> {
  const out: Record<string, Record<string, Entry>> = {};
  // The epoch's triples in each scheme's training order, built (and written for PyTorch) once per scheme: the
  // timed runs take the first (WARMUP + STEPS)·B positions, the whole-epoch runs all of them.
  const epochs = new Map<SamplingName, { heads: Int32Array; relations: Int32Array; tails: Int32Array }>();
  const epochFor = (sampling: SamplingName) => {
    let ep = epochs.get(sampling);
    if (!ep) {
      const seed = config(sampling).seed, E = graph.heads.length;
      const order = sampling === 'shared' ? relationChunkedOrder(graph.relations, CHUNK, seed, 0) : epochPermutation(E, seed, 0);
      ep = { heads: new Int32Array(E), relations: new Int32Array(E), tails: new Int32Array(E) };
      for (let i = 0; i < E; i++) {
        const j = order[i];
        ep.heads[i] = graph.heads[j];
        ep.relations[i] = graph.relations[j];
        ep.tails[i] = graph.tails[j];
      }
      fs.writeFileSync(path.join(OUT, `batches-${sampling}.i32`), Buffer.from(order.buffer, order.byteOffset, order.length * 4));
      epochs.set(sampling, ep);
    }
    return ep;
  };
  for (const model of MODELS) {
    out[model] = {};
    // TransE has no projection GEMMs: it runs once, under the first math listed.
    const maths = model === 'transe' ? GEMMS.slice(0, 1) : GEMMS;
    // Every setting under the first math (and the hybrid ones) before any under the next: a fault in a kernel never
    // run on a GPU before (the tensor-core tiles) poisons the process's CUDA context, and must not cost the rest.
    // The hybrid settings run with each staging (key "shared@hybrid": copy, the default; "shared@hybrid-mapped").
    const runs: Array<{ tc: ThroughputConfig; gemm: CudaGemm; hybrid: CudaStaging | null }> = [
      ...CONFIGS.flatMap((tc) => [{ tc, gemm: GEMMS[0], hybrid: null }, ...(HYBRID_CONFIGS.includes(tc.name) ? CUDA_STAGINGS.map((st) => ({ tc, gemm: GEMMS[0], hybrid: st })) : [])]),
      ...maths.slice(1).flatMap((gemm) => CONFIGS.map((tc) => ({ tc, gemm, hybrid: null }))),
    ];
    for (const { tc, gemm, hybrid } of runs) {
      const key = hybrid ? `${tc.name}@hybrid${hybrid === 'copy' ? '' : `-${hybrid}`}` : gemm === GEMMS[0] ? tc.name : `${tc.name}@${gemm}`;
      try {
        out[model][key] = await measure(model, tc, gemm, hybrid, key);
      } catch (e) {
        log(`adkg cuda ${model} ${key} failed: ${(e as Error).message}`);
        out[model][key] = { error: (e as Error).message, gemm };
      }
    }
  }
  return out;

  /** One setting: a profiled warm-up call, the timed call, and (--epoch-configs) a whole epoch in one call. */
  async function measure(model: ModelName, tc: ThroughputConfig, gemm: CudaGemm, hybrid: CudaStaging | null, key: string): Promise<Entry> {
    const B = tc.batch, sampling = tc.sampling;
    const cfg = config(sampling);
    const ep = epochFor(sampling);
    const L = Math.min(graph.heads.length, (WARMUP + STEPS) * B);
    const steps = Math.floor(L / B) - WARMUP;
    const h = ep.heads.subarray(0, L), r = ep.relations.subarray(0, L), t = ep.tails.subarray(0, L);
    const init = makeInit(model, ENTITIES, RELATIONS, DIM, cfg, graph);
    const cu = new CudaBackend(init, hybrid ? { placement: 'hybrid', hotRows: HYBRID_HOT, gemm, staging: hybrid } : { placement: PLACEMENT, gemm });
    try {
      // The warm-up run is the profiled one (per-phase CUDA events; the timed run is not perturbed).
      process.env.ADKG_CUDA_PROFILE = '1';
      // keepOnDevice, as the trainer's epochs: the timed call finds the tables on the device (no copy in).
      const warm = await cu.trainRun({ heads: h.subarray(0, WARMUP * B), relations: r.subarray(0, WARMUP * B), tails: t.subarray(0, WARMUP * B), epoch: 0, offset: 0, batchSize: B, firstStep: 1, keepOnDevice: true });
      process.env.ADKG_CUDA_PROFILE = '0';
      const run = await cu.trainRun({ heads: h.subarray(WARMUP * B), relations: r.subarray(WARMUP * B), tails: t.subarray(WARMUP * B), epoch: 0, offset: WARMUP * B, batchSize: B, firstStep: 1 + WARMUP, keepOnDevice: true });
      // A whole epoch in one call, as `adkg train` runs one (copy back included): the end-to-end rate.
      let epoch: Record<string, number | boolean> | undefined;
      if (EPOCH_CONFIGS.includes(tc.name) && !hybrid) {
        const E = ep.heads.length;
        const t0 = process.hrtime.bigint();
        const e = await cu.trainRun({ heads: ep.heads, relations: ep.relations, tails: ep.tails, epoch: 1, offset: 0, batchSize: B, firstStep: 1 + WARMUP + steps, keepOnDevice: true });
        const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
        epoch = { positives: E, wallSeconds, positivesPerSecond: E / wallSeconds, syncInSeconds: e.syncInSeconds, stepSeconds: e.stepSeconds, syncOutSeconds: e.syncOutSeconds, reusedDeviceTables: e.reusedDeviceTables };
        log(`adkg cuda ${model} ${key} full epoch: ${(E / wallSeconds).toFixed(0)} positives/s end to end (${wallSeconds.toFixed(2)} s: in ${e.syncInSeconds.toFixed(2)}, steps ${e.stepSeconds.toFixed(2)}, out ${e.syncOutSeconds.toFixed(2)}; copy in ${e.reusedDeviceTables ? 'skipped' : 'made'})`);
      }
      const pos = steps * B;
      const adkg = pos / run.stepSeconds;
      const wall = pos / (run.syncInSeconds + run.stepSeconds + run.syncOutSeconds);
      log(`adkg cuda ${model} ${key}: ${adkg.toFixed(0)} positives/s in steps (${wall.toFixed(0)} with the call's table copies; ${run.placement}${hybrid ? `, staging ${run.staging}` : ''}, ${run.projectedDistance} form; loss ${warm.losses[0].toFixed(4)} → ${run.losses[run.losses.length - 1].toFixed(4)})`);
      return { adkg, adkgWithSync: wall, placement: run.placement, staging: run.staging, reusedDeviceTables: run.reusedDeviceTables, projectedDistance: run.projectedDistance, gemmTile: run.gemmTile, sharedLoss: run.sharedLoss, gemm, batch: B, steps, lossFirst: warm.losses[0], lossLast: run.losses[run.losses.length - 1], ...(epoch ? { epoch } : {}) };
    } finally {
      process.env.ADKG_CUDA_PROFILE = '0';
      cu.dispose();
    }
  }
}

/** allowTf32: PyTorch's TF32 matmuls (torch.backends.cuda.matmul.allow_tf32), the peer of adkg's tf32 GEMMs. */
function pytorch(models: ModelName[], allowTf32: boolean): Record<string, Record<string, number>> | null {
  const plan = {
    allowTf32,
    triples: path.join(OUT, 'triples.i32'), batches: { independent: path.join(OUT, 'batches-independent.i32'), shared: path.join(OUT, 'batches-shared.i32') },
    configs: CONFIGS, entities: ENTITIES, relations: RELATIONS, dim: DIM, negatives: NEG, chunk: CHUNK, margin: 9, lr: 0.001,
    warmup: WARMUP, steps: STEPS, models,
  };
  fs.writeFileSync(path.join(OUT, 'plan.json'), JSON.stringify(plan));
  const script = path.join(__dirname, 'pytorch_kge_gpu.py');
  const res = spawnSync('python3', [script, path.join(OUT, 'plan.json')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  if (res.status !== 0) {
    log(`pytorch peer failed (status ${res.status}, ${res.error?.message ?? ''})`);
    return null;
  }
  const lines = res.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

function readTsv(file: string, ent: Map<string, number>, rel: Map<string, number>): { heads: Int32Array; relations: Int32Array; tails: Int32Array } {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const id = (m: Map<string, number>, k: string) => {
    let v = m.get(k);
    if (v === undefined) m.set(k, (v = m.size));
    return v;
  };
  const heads = new Int32Array(lines.length), relations = new Int32Array(lines.length), tails = new Int32Array(lines.length);
  lines.forEach((l, i) => {
    const [h, r, t] = l.split('\t');
    heads[i] = id(ent, h);
    relations[i] = id(rel, r);
    tails[i] = id(ent, t);
  });
  return { heads, relations, tails };
}

/** The same short schedule on cuda (trainRun per epoch) and native (trainBatch per batch); filtered test MRR. */
async function fb15k(dir: string): Promise<Record<string, unknown>> {
  const ent = new Map<string, number>(), rel = new Map<string, number>();
  const train = readTsv(path.join(dir, 'train.txt'), ent, rel);
  const valid = readTsv(path.join(dir, 'valid.txt'), ent, rel);
  const test = readTsv(path.join(dir, 'test.txt'), ent, rel);
  const N = ent.size, R = rel.size, n = train.heads.length;
  const epochs = Number(arg('fb-epochs', '5')), B = 2048;
  const cfg = config('shared', { chunkSize: 64, adversarialTemperature: 1, norm: 'l1', lr: 0.01, relationLr: 0.01 });
  const filter = new FilterIndex([train, valid, test], R);
  const out: Record<string, unknown> = { entities: N, relations: R, train: n, epochs, batch: B, model: 'transe', dim: DIM };
  for (const name of ['cuda', 'native'] as const) {
    const init = makeInit('transe', N, R, DIM, cfg, train);
    const backend: KgeBackend = name === 'cuda' ? new CudaBackend(init) : nativeBackendFactory.create(init);
    const h = new Int32Array(n), r = new Int32Array(n), t = new Int32Array(n);
    const t0 = Date.now();
    let step = 1, lastLoss = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = relationChunkedOrder(train.relations, cfg.chunkSize, cfg.seed, epoch);
      for (let i = 0; i < n; i++) {
        h[i] = train.heads[order[i]];
        r[i] = train.relations[order[i]];
        t[i] = train.tails[order[i]];
      }
      if (backend instanceof CudaBackend) {
        const res = await backend.trainRun({ heads: h, relations: r, tails: t, epoch, offset: 0, batchSize: B, firstStep: step });
        step += res.losses.length;
        lastLoss = res.losses[res.losses.length - 1];
      } else {
        for (let s = 0; s < n; s += B, step++) {
          const e = Math.min(n, s + B);
          lastLoss = await backend.trainBatch({ heads: h.subarray(s, e), relations: r.subarray(s, e), tails: t.subarray(s, e), epoch, offset: s, step });
        }
      }
    }
    const trainSeconds = (Date.now() - t0) / 1000;
    const m = await evaluateLinkPrediction(backend, N, test, filter, { progress: false });
    backend.dispose();
    log(`fb15k-237 ${name}: MRR ${m.mrr.toFixed(4)} hits@10 ${m.hits10.toFixed(4)} (train ${trainSeconds.toFixed(1)} s, last loss ${lastLoss.toFixed(4)})`);
    out[name] = { mrr: m.mrr, hits10: m.hits10, trainSeconds, lastLoss };
  }
  return out;
}

async function main(): Promise<void> {
  const why = cudaUnavailableReason();
  if (why) throw new Error(why);
  const info = cudaDeviceInfo()!;
  log(`device: ${info.device} (cc ${info.computeCapability}, ${((info.memoryBytes ?? 0) / 2 ** 30).toFixed(0)} GiB)`);
  fs.mkdirSync(OUT, { recursive: true });
  const result: Record<string, unknown> = { device: info.device, steps: STEPS, warmup: WARMUP, entities: ENTITIES, triples: TRIPLES, relations: RELATIONS };
  if (FB_DIR) {
    try {
      result.fb15k237 = await fb15k(FB_DIR);
    } catch (e) {
      result.fb15k237 = { error: (e as Error).message };
      log(`fb15k-237 failed: ${(e as Error).message}`);
    }
  }
  const t0 = Date.now();
  const graph = syntheticGraph(ENTITIES, TRIPLES, RELATIONS, 7);
  const all = new Int32Array(3 * TRIPLES);
  all.set(graph.heads, 0);
  all.set(graph.relations, TRIPLES);
  all.set(graph.tails, 2 * TRIPLES);
  fs.writeFileSync(path.join(OUT, 'triples.i32'), Buffer.from(all.buffer));
  log(`synthetic graph: ${ENTITIES} entities, ${TRIPLES} triples, ${RELATIONS} relations (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  let tp: Record<string, Record<string, Entry>> = {};
  try {
    tp = await throughput(graph);
  } catch (e) {
    result.throughputError = (e as Error).message;
    log(`adkg cuda throughput failed: ${(e as Error).message}`);
  }
  const py = SKIP_PYTORCH ? null : pytorch(MODELS, false);
  const tf32Models = MODELS.filter((m) => m !== 'transe');
  const py32 = SKIP_PYTORCH || !PYTORCH_TF32 || tf32Models.length === 0 ? null : pytorch(tf32Models, true);
  for (const model of Object.keys(tp)) {
    for (const key of Object.keys(tp[model])) {
      const base = key.split('@')[0], e = tp[model][key];
      const p = py?.[model]?.[base], p32 = py32?.[model]?.[base];
      if (p) e.pytorch = p;
      if (p && typeof e.adkg === 'number') {
        e.ratio = (e.adkg as number) / p;
      }
      if (p32 && e.gemm === 'tf32' && typeof e.adkg === 'number') {
        e.pytorchTf32 = p32;
        e.ratioTf32 = (e.adkg as number) / p32;
      }
    }
  }
  // One line per measured setting, for reading the run at a glance (the JSON below has everything).
  const m = (x: unknown) => (typeof x === 'number' ? `${(x / 1e6).toFixed(2)}M` : '—');
  for (const model of Object.keys(tp))
    for (const [key, e] of Object.entries(tp[model])) {
      const epoch = e.epoch as Record<string, number> | undefined;
      log(`summary ${model} ${key}: adkg ${m(e.adkg)} vs pytorch ${m(e.pytorch)} = ${typeof e.ratio === 'number' ? `${e.ratio.toFixed(2)}×` : '—'}` +
        (typeof e.ratioTf32 === 'number' ? `; vs pytorch tf32 ${m(e.pytorchTf32)} = ${e.ratioTf32.toFixed(2)}×` : '') +
        (epoch ? `; whole epoch end to end ${m(epoch.positivesPerSecond)}` : '') +
        (typeof e.error === 'string' ? ` (FAILED: ${e.error})` : ''));
    }
  result.throughput = tp;
  if (py) result.pytorch = py;
  if (py32) result.pytorchTf32 = py32;
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  log(`bench/kge-gpu failed: ${(e as Error).stack ?? e}`);
  console.log(JSON.stringify({ error: (e as Error).message }));
  process.exit(1);
});
