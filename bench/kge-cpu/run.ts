/**
 * bench/kge-cpu: adkg's native backend against eager PyTorch on this CPU, in the same run.
 * TransE and TransR (d = k = 128), 64 negatives per positive, softplus loss, sparse Adagrad for
 * entities (Adam for relations/projections), on a synthetic graph (default 1M entities, 20 relations,
 * ~5M triples), a fixed number of steps of 1024 positives; both sampling schemes:
 *   independent  64 fresh negatives per positive
 *   shared       chunks of 256 positives of one relation share 64 negatives
 * Both sides see the same triples and the same batches and use the same number of threads.
 * PyTorch comes from PyPI into a throwaway venv (reused when present).
 *
 *   bash bench/kge-cpu/run.sh [--entities N] [--triples T] [--steps S] [--threads T] [--skip-pytorch]
 *                             [--models transe,transr] [--samplings independent,shared]
 *
 * Last line: {"transe":{"independent":{"adkg":P,"pytorch":P,"ratio":R},"shared":{...}},"transr":{...}} (positives/s).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SeededRandom } from '../../src/common';
import type { BackendInit, ModelName, SamplingName, TrainConfig } from '../../src/kge/backends/backend';
import { nativeBackendFactory } from '../../src/kge/backends/native';
import { allocateTables, createOptimizerState } from '../../src/kge/model';

interface Options {
  entities: number;
  relations: number;
  triples: number;
  dim: number;
  negatives: number;
  batch: number;
  chunk: number;
  steps: number;
  warmup: number;
  threads: number;
  venv: string;
  skipPytorch: boolean;
  models: ModelName[];
  samplings: SamplingName[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    entities: 1_000_000, relations: 20, triples: 5_000_000, dim: 128, negatives: 64, batch: 1024, chunk: 256,
    steps: 30, warmup: 3, threads: 2, venv: '/tmp/adkg-bench-venv', skipPytorch: false,
    models: ['transe', 'transr'], samplings: ['independent', 'shared'],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === '--entities') o.entities = num();
    else if (a === '--relations') o.relations = num();
    else if (a === '--triples') o.triples = num();
    else if (a === '--steps') o.steps = num();
    else if (a === '--threads') o.threads = num();
    else if (a === '--venv') o.venv = argv[++i];
    else if (a === '--skip-pytorch') o.skipPytorch = true;
    else if (a === '--models') o.models = argv[++i].split(',') as ModelName[];
    else if (a === '--samplings') o.samplings = argv[++i].split(',') as SamplingName[];
    else throw new Error(`unknown option ${a} (see the header of bench/kge-cpu/run.ts)`);
  }
  return o;
}

/** Triples grouped by relation in runs that are whole chunks, so every chunk holds one relation. */
function syntheticGraph(o: Options): { heads: Int32Array; relations: Int32Array; tails: Int32Array } {
  const perRel = Math.max(o.chunk, Math.round(o.triples / o.relations / o.chunk) * o.chunk);
  const T = perRel * o.relations;
  const rng = new SeededRandom(2026);
  const heads = new Int32Array(T), relations = new Int32Array(T), tails = new Int32Array(T);
  for (let i = 0; i < T; i++) {
    relations[i] = Math.floor(i / perRel);
    heads[i] = rng.int(o.entities);
    tails[i] = rng.int(o.entities);
  }
  return { heads, relations, tails };
}

/** Each batch: batch/chunk random whole chunks (positions into the triple arrays). */
function batchPlan(o: Options, T: number): Int32Array {
  const rng = new SeededRandom(7);
  const chunks = T / o.chunk, perBatch = o.batch / o.chunk;
  const plan = new Int32Array((o.warmup + o.steps) * o.batch);
  for (let b = 0; b < o.warmup + o.steps; b++) {
    for (let c = 0; c < perBatch; c++) {
      const start = rng.int(chunks) * o.chunk;
      for (let i = 0; i < o.chunk; i++) plan[b * o.batch + c * o.chunk + i] = start + i;
    }
  }
  return plan;
}

function config(o: Options, sampling: SamplingName): TrainConfig {
  return {
    loss: 'softplus', margin: 6, adversarialTemperature: 0, norm: 'l2', negatives: o.negatives, sampling, chunkSize: o.chunk,
    corruption: 'uniform', entityOptimizer: 'adagrad', relationOptimizer: 'adam', lr: 0.1, relationLr: 0.001,
    constraint: 'none', learnAnchorWeights: false, seed: 1, threads: o.threads,
  };
}

/** adkg's freshly initialised tables for one cell (same init scheme as the PyTorch peer). */
function adkgTables(o: Options, model: ModelName): Pick<BackendInit, 'tables' | 'optimizer' | 'sampling'> {
  const tables = allocateTables({ model, numEntities: o.entities, numRelations: o.relations, dim: o.dim, relDim: o.dim });
  const rng = new SeededRandom(11);
  const scale = 8 / o.dim;
  for (let i = 0; i < tables.entity.length; i++) tables.entity[i] = (2 * rng.next() - 1) * scale;
  for (let i = 0; i < tables.relation.length; i++) tables.relation[i] = (2 * rng.next() - 1) * scale;
  if (tables.projection) for (let r = 0; r < o.relations; r++) for (let i = 0; i < o.dim; i++) tables.projection[r * o.dim * o.dim + i * o.dim + i] = 1;
  const optimizer = createOptimizerState(tables, 'adagrad', 'adam');
  // Touch every page of the optimizer state now (torch.zeros does the same), so page faults of freshly
  // mapped zero memory are not timed as training.
  for (const slots of Object.values(optimizer)) {
    slots!.s1.fill(1).fill(0);
    slots!.s2?.fill(1).fill(0);
  }
  const sampling = {
    headProb: new Float64Array(o.relations).fill(0.5), entityType: new Int32Array(o.entities),
    typeOffsets: Int32Array.from([0, o.entities]), typeMembers: new Int32Array(0),
  };
  return { tables, optimizer, sampling };
}

let globalStep = 1;

/** Positives per second of adkg native on the plan's batches (after the warm-up steps). */
async function benchAdkg(o: Options, g: ReturnType<typeof syntheticGraph>, plan: Int32Array, model: ModelName, s: SamplingName,
  state: Pick<BackendInit, 'tables' | 'optimizer' | 'sampling'>): Promise<number> {
  const backend = nativeBackendFactory.create({ ...state, config: config(o, s) });
  const B = o.batch;
  const heads = new Int32Array(B), relations = new Int32Array(B), tails = new Int32Array(B);
  let t0 = 0, loss = 0;
  for (let b = 0; b < o.warmup + o.steps; b++) {
    if (b === o.warmup) t0 = performance.now();
    for (let i = 0; i < B; i++) {
      const p = plan[b * B + i];
      heads[i] = g.heads[p];
      relations[i] = g.relations[p];
      tails[i] = g.tails[p];
    }
    loss = await backend.trainBatch({ heads, relations, tails, epoch: 0, offset: b * B, step: globalStep++ });
  }
  const perSecond = (o.steps * B) / ((performance.now() - t0) / 1000);
  process.stderr.write(`adkg    ${model} ${s}: ${perSecond.toFixed(0)} positives/s (loss ${loss.toFixed(4)}, load average ${os.loadavg()[0].toFixed(1)})\n`);
  backend.dispose();
  return perSecond;
}

/** Positives per second of the PyTorch peer for one cell (a fresh process: same tables size, same batches). */
function benchTorch(py: string, planFile: string, model: ModelName, s: SamplingName): number {
  // OMP_WAIT_POLICY=PASSIVE: on a shared machine OpenMP's spin-waiting at every op's barrier makes PyTorch
  // many times slower whenever another process holds a core (measured: 15.7k vs 126k positives/s for TransE
  // shared at load ≈ 5); passive waiting keeps the comparison about the kernels. Set it yourself to override.
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const res = spawnSync(py, [path.join(__dirname, 'pytorch_kge.py'), planFile, model, s], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (res.status !== 0) throw new Error(`the PyTorch peer failed on ${model} ${s} (exit ${res.status})`);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, Record<string, number>>;
  process.stderr.write(`(load average ${os.loadavg()[0].toFixed(1)})\n`);
  return out[model][s];
}

/** A venv with torch from PyPI (created once, reused). */
function ensureTorch(venv: string): string {
  const py = path.join(venv, 'bin', 'python');
  const ok = fs.existsSync(py) && spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
  if (!ok) {
    process.stderr.write(`installing torch and numpy from PyPI into ${venv} (once; large download)\n`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(py, ['-m', 'pip', 'install', '-q', 'torch', 'numpy'], { stdio: 'inherit' });
  }
  return py;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const avail = nativeBackendFactory.available();
  if (!avail.ok) throw new Error(avail.reason);
  const py = o.skipPytorch ? null : ensureTorch(o.venv);
  const g = syntheticGraph(o);
  const plan = batchPlan(o, g.heads.length);
  process.stderr.write(`graph: ${o.entities} entities, ${o.relations} relations, ${g.heads.length} triples; ` +
    `${o.steps} timed steps of ${o.batch} positives (+${o.warmup} warm-up), d = k = ${o.dim}, ${o.negatives} negatives, ${o.threads} threads\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-kge-cpu-'));
  const result: Record<string, Record<string, { adkg: number; pytorch: number | null; ratio: number | null }>> = {};
  try {
    const triples = path.join(dir, 'triples.bin'), batches = path.join(dir, 'batches.bin'), planFile = path.join(dir, 'plan.json');
    const all = new Int32Array(g.heads.length * 3);
    all.set(g.heads, 0);
    all.set(g.relations, g.heads.length);
    all.set(g.tails, 2 * g.heads.length);
    fs.writeFileSync(triples, Buffer.from(all.buffer));
    fs.writeFileSync(batches, Buffer.from(plan.buffer));
    const cfg = config(o, 'independent');
    fs.writeFileSync(planFile, JSON.stringify({
      triples, batches, entities: o.entities, relations: o.relations, dim: o.dim, relDim: o.dim, negatives: o.negatives,
      batch: o.batch, chunk: o.chunk, warmup: o.warmup, threads: o.threads, margin: cfg.margin, lr: cfg.lr, relationLr: cfg.relationLr,
    }));
    // Cell by cell, adkg then PyTorch, so that load from elsewhere on the machine falls on both alike.
    for (const m of o.models) {
      result[m] = {};
      for (const s of o.samplings) {
        // Fresh tables per cell, as the PyTorch peer starts a fresh process per cell: the losses of the
        // two sides then follow the same start and can be compared step for step.
        const a = await benchAdkg(o, g, plan, m, s, adkgTables(o, m));
        const p = py ? benchTorch(py, planFile, m, s) : null;
        result[m][s] = { adkg: Math.round(a), pytorch: p === null ? null : Math.round(p), ratio: p === null ? null : Number((a / p).toFixed(2)) };
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(`bench/kge-cpu: ${(e as Error).message}`);
  process.exit(1);
});
