/** Shared by the jest device battery (test/kge-cuda-battery.ts) and its GPU-machine half (bench/kge-gpu/parity.ts). */
import type { BackendInit, KgeBackend, ModelName, TrainBatch, TrainConfig } from '../src/kge/backends/backend';
import { CudaBackend } from '../src/kge/backends/cuda';
import { jsBackendFactory } from '../src/kge/backends/js';
import { baseConfig, batches, cloneInit, gradientRelDiff, makeInit, maxRelDiff, maxTableNormDiff, randomGraph, trajectory, type Graph } from './kge-backend-fixtures';

export interface EventLoopProbe {
  finite: boolean;
  ticks: number;
  ms: number;
  /** The event loop kept ticking: at least a quarter of the 5 ms ticks the call's wall time allows. */
  kept: boolean;
}

/** A long trainRun with a 5 ms interval timer beside it: a BullMQ worker renews its lock while the GPU trains.
 * small: a graph the host emulation runs in seconds (the GPU's takes ~0.5 s there, and hours emulated). */
export async function eventLoopDuringTrainRun(small = false): Promise<EventLoopProbe> {
  const big = small ? randomGraph(2000, 8, 4096, 3) : randomGraph(200000, 8, 400000, 3);
  const cu = new CudaBackend(makeInit(big, 'transr', baseConfig({ negatives: small ? 16 : 64 }), small ? 16 : 64, small ? 16 : 64), { placement: 'resident' });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = Date.now();
  try {
    const r = await cu.trainRun({ heads: big.heads, relations: big.relations, tails: big.tails, epoch: 0, offset: 0, batchSize: small ? 512 : 4096, firstStep: 1 });
    const ms = Date.now() - t0;
    return { finite: r.losses.every(Number.isFinite), ticks, ms, kept: ms <= 100 || ticks >= Math.floor(ms / 5 / 4) };
  } finally {
    clearInterval(timer);
    cu.dispose();
  }
}

export interface KeepOnDeviceProbe {
  /** Loss trajectory of the cuda runs vs js over the same batches (relative). */
  lossDiff: number;
  /** Tables after the runs vs js (maxTableNormDiff). */
  tableDiff: number;
  /** scoreAll after a kept run vs js on the js-trained tables (relative). */
  scoreDiff: number;
  /** reusedDeviceTables of: run 1 (kept), run 2 (kept, after scoreAll), run 3 (not kept, after trainBatch), run 4. */
  reused: boolean[];
}

/**
 * TrainRun.keepOnDevice end to end: two epochs with keepOnDevice (the second skips the copy in), scoreAll in
 * between (in place on the device for TransE/TransR), a trainBatch (which stages rows and must drop the kept
 * copy), a run without the flag and one more run: every loss, table and score must equal js doing the same.
 */
export async function keepOnDeviceRuns(model: ModelName, over: Partial<TrainConfig>): Promise<KeepOnDeviceProbe> {
  const g = randomGraph(60, 4, 300, 1);
  const init = makeInit(g, model, baseConfig(over));
  const jInit = cloneInit(init), cInit = cloneInit(init);
  const js = jsBackendFactory.create(jInit);
  const cu = new CudaBackend(cInit, { placement: 'resident' });
  const all = { heads: g.heads, relations: g.relations, tails: g.tails, offset: 0, batchSize: 64 };
  const perEpoch = Math.ceil(g.heads.length / 64);
  const lj: number[] = [], lc: number[] = [], reused: boolean[] = [];
  let step = 1, scoreDiff = 0;
  const epochJs = async (epoch: number) => {
    for (const b of batches(g, 64, 1)) lj.push(await js.trainBatch({ ...b, epoch, step: step + (b.step - 1) }));
  };
  try {
    for (let epoch = 0; epoch < 4; epoch++) {
      await epochJs(epoch);
      const r = await cu.trainRun({ ...all, epoch, firstStep: step, keepOnDevice: epoch < 2 });
      lc.push(...r.losses);
      reused.push(r.reusedDeviceTables);
      step += perEpoch;
      if (epoch === 0) {
        scoreDiff = await scoreAllDiff(js, cu, g);
      }
      if (epoch === 1) {
        // A staged step between runs: same batch on both, then the next run must copy the tables in again.
        const b = { ...batches(g, 64, 1)[0], epoch: 9, step };
        lj.push(await js.trainBatch(b));
        lc.push(await cu.trainBatch(b));
        step++;
      }
    }
  } finally {
    cu.dispose();
  }
  return { lossDiff: maxRelDiff(lj, lc), tableDiff: maxTableNormDiff(jInit, cInit), scoreDiff, reused };
}

/** What mappedStagingRuns saw. */
export interface MappedStagingProbe {
  /** RunResult.staging of the hybrid runs: staging mapped and copy on the 16 MB tables, mapped on small ones. */
  kinds: { mapped: string; copy: string; small: string };
  /** Largest difference from js of the two hybrid runs and of trainBatch with staging mapped (loss: relative;
   * tables: maxTableNormDiff). */
  lossDiff: number;
  tableDiff: number;
  /** Losses and every table of the two hybrid runs are bit for bit the same (so on the deterministic emulation). */
  identical: boolean;
}

/**
 * Mapped staging (options.staging): the device moves a hybrid batch's rows through the page-locked JS tables itself.
 * Tables of 16 MB and up are page-locked, so d = 128 and 33,000 entities (16.9 MB a table); TransRA's anchor tables
 * stay smaller and are copied as before (mixed). A hybrid trainRun with staging mapped and one with copy, and
 * trainBatch with mapped, against js on the same batches; then a hybrid run on small tables, which staging mapped
 * leaves to copy.
 */
export async function mappedStagingRuns(model: ModelName, over: Partial<TrainConfig>): Promise<MappedStagingProbe> {
  const big = randomGraph(33000, 4, 192, 3);
  const init = makeInit(big, model, baseConfig(over), 128, 16);
  if (init.tables.entity.byteLength < 16 * 2 ** 20) throw new Error('mappedStagingRuns: the entity table is under 16 MB');
  // Batches of 32: six, so that mapped staging's two upload buffers are each reused twice.
  const bs = batches(big, 32, 1);
  const jsInit = cloneInit(init);
  const lj = await trajectory(jsBackendFactory.create(jsInit), bs);
  const all = { heads: big.heads, relations: big.relations, tails: big.tails, epoch: 0, offset: 0, batchSize: 32, firstStep: 1 };
  const hybrid = async (staging: 'copy' | 'mapped') => {
    const cInit = cloneInit(init);
    const cu = new CudaBackend(cInit, { placement: 'hybrid', hotRows: 9, staging });
    try {
      return { r: await cu.trainRun(all), cInit };
    } finally {
      cu.dispose();
    }
  };
  const mapped = await hybrid('mapped');
  const copied = await hybrid('copy');
  const tInit = cloneInit(init);
  const cu = new CudaBackend(tInit, { staging: 'mapped' });
  let lt: number[];
  try {
    lt = await trajectory(cu, bs);
  } finally {
    cu.dispose();
  }
  const g = randomGraph(60, 4, 300, 1);
  const small = new CudaBackend(makeInit(g, model, baseConfig(over)), { placement: 'hybrid', hotRows: 9, staging: 'mapped' });
  let smallKind: string;
  try {
    smallKind = (await small.trainRun({ ...all, heads: g.heads, relations: g.relations, tails: g.tails })).staging;
  } finally {
    small.dispose();
  }
  const bytes = (a: Float32Array | null | undefined) => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : Buffer.alloc(0));
  const tables = (i: BackendInit) => [i.tables.entity, i.tables.relation, i.tables.projection, i.tables.anchor, i.tables.anchorLogit, ...Object.values(i.optimizer).flatMap((o) => [o!.s1, o!.s2])];
  const ta = tables(mapped.cInit), tb = tables(copied.cInit);
  const identical = Array.from(mapped.r.losses).every((x, i) => x === copied.r.losses[i]) && ta.every((a, i) => bytes(a).equals(bytes(tb[i])));
  return {
    kinds: { mapped: mapped.r.staging, copy: copied.r.staging, small: smallKind },
    lossDiff: Math.max(maxRelDiff(lj, mapped.r.losses), maxRelDiff(lj, copied.r.losses), maxRelDiff(lj, lt)),
    tableDiff: Math.max(maxTableNormDiff(jsInit, mapped.cInit), maxTableNormDiff(jsInit, copied.cInit), maxTableNormDiff(jsInit, tInit)),
    identical,
  };
}

/**
 * scoreAll of a projected model where queries × entities is not a multiple of 4 (61 entities, 37 queries; with
 * d = k = 128 so that the projection tiles write 16-byte pieces): the projected entity block sits after the Q × N
 * distances in one scratch buffer, and must still start 16-byte aligned. Session 9 found it did not (a misaligned
 * address on a GPU; FB15k-237's 14,541 entities made `adkg train --model transr --backend cuda` fail in run 7).
 * Returns the largest relative difference from js over both sides.
 */
export async function oddShapeScoreAll(model: ModelName): Promise<number> {
  const g = randomGraph(61, 3, 200, 2);
  const init = makeInit(g, model, baseConfig({}), 128, 128);
  const cu = new CudaBackend(cloneInit(init), { placement: 'resident' });
  const js = jsBackendFactory.create(cloneInit(init));
  try {
    return await scoreAllDiff(js, cu, g);
  } finally {
    cu.dispose();
  }
}

/**
 * scoreAll of a projected model at d = k = 128 through the element tile and through the 16-byte (chunk) tile. Both
 * add the same products in the same order into the same registers (the chunk tile's K-steps are two of the element
 * tile's), and the projection stores plain values, so the scores must be bitwise equal: returns how many differ.
 */
export async function tileScoreAllMismatches(model: ModelName): Promise<number> {
  const g = randomGraph(61, 3, 200, 2);
  const init = makeInit(g, model, baseConfig({}), 128, 128);
  const element = new CudaBackend(cloneInit(init), { placement: 'resident', gemmTile: 'element' });
  const chunk = new CudaBackend(cloneInit(init), { placement: 'resident', gemmTile: 'chunk' });
  let mismatches = 0;
  try {
    for (const side of ['head', 'tail'] as const) {
      const q = { side, known: g.heads.slice(0, 37), relations: g.relations.slice(0, 37) };
      const oe = new Float32Array(37 * g.N), oc = new Float32Array(37 * g.N);
      await element.scoreAll(q, oe);
      await chunk.scoreAll(q, oc);
      for (let i = 0; i < oe.length; i++) if (!Object.is(oe[i], oc[i])) mismatches++;
    }
  } finally {
    element.dispose();
    chunk.dispose();
  }
  return mismatches;
}

/** scoreAll of the first 37 triples' heads and tails by two backends: the largest relative difference. */
async function scoreAllDiff(a: KgeBackend, b: KgeBackend, g: Graph): Promise<number> {
  let worst = 0;
  for (const side of ['head', 'tail'] as const) {
    const q = { side, known: g.heads.slice(0, 37), relations: g.relations.slice(0, 37) };
    const oa = new Float32Array(37 * g.N), ob = new Float32Array(37 * g.N);
    await a.scoreAll(q, oa);
    await b.scoreAll(q, ob);
    worst = Math.max(worst, maxRelDiff(oa, ob));
  }
  return worst;
}

export interface GramProbe {
  /** The form trainRun reports it ran in (options.projectedDistance gram). */
  form: string;
  /** One batch's loss, cuda (gram) vs js, relative. */
  lossRel: number;
  /** Its gradients: the largest |difference| over each table's largest |value| (the battery allows 1e-4). */
  gradRel: number;
}

/**
 * The Gram form where its values cancel (cuda/src/gram.cu), against js. Two constructions:
 * - 'near-pairs': entities in near-identical pairs (2i, 2i + 1), relation vectors near zero, TransRA's anchors zero
 *   (x = ê), every positive (h, r, partner of h): each positive's distance, and a negative's that draws the partner, is
 *   tiny against ‖M_r h‖², so its Gram value would be rounding noise (those pairs must be taken straight from M_r);
 * - 'fitted': relation vectors as initialised and each positive's tail set to h + M_r⁺r_r (1 % off), so that
 *   M_r h + r_r ≈ M_r t: its distance is small against ‖r_r‖, where the Gram form's ∂M = M_r·S + r bᵀ would cancel
 *   (the positive's ∂M must come from e⁺ directly).
 */
export async function gramHardPairs(model: 'transr' | 'transra', over: Partial<TrainConfig> = {}, kind: 'near-pairs' | 'fitted' = 'near-pairs'): Promise<GramProbe> {
  const { init, batch } = gramHardCase(model, over, kind);
  const gj = await jsBackendFactory.create(cloneInit(init)).gradients(batch);
  const cg = new CudaBackend(cloneInit(init), { projectedDistance: 'gram' });
  const cr = new CudaBackend(cloneInit(init), { placement: 'resident', projectedDistance: 'gram' });
  try {
    const gc = await cg.gradients(batch);
    const run = await cr.trainRun({ heads: batch.heads, relations: batch.relations, tails: batch.tails, epoch: batch.epoch, offset: batch.offset, batchSize: 64, firstStep: 1 });
    return { form: run.projectedDistance, lossRel: Math.abs(gj.loss - gc.loss) / Math.abs(gj.loss), gradRel: gradientRelDiff(gj.gradients, gc.gradients) };
  } finally {
    cg.dispose();
    cr.dispose();
  }
}

/** gramHardPairs' tables and batch (exported so that the construction itself can be checked without a GPU). */
export function gramHardCase(model: 'transr' | 'transra', over: Partial<TrainConfig>, kind: 'near-pairs' | 'fitted'): { init: BackendInit; batch: TrainBatch } {
  let g: Graph, batch: TrainBatch;
  let fit: ((init: BackendInit) => void) | null = null;
  if (kind === 'near-pairs') {
    const base = randomGraph(60, 4, 300, 1);
    g = { ...base, tails: Int32Array.from(base.heads, (h) => h ^ 1) };
    batch = batches(g, 64, 1)[1];
  } else {
    // 64 positives with their own heads (0..63) and tails (64..127); entities 128..199 only as negatives.
    const B = 64, N = 200, R = 4;
    const heads = Int32Array.from({ length: B }, (_, i) => i), tails = Int32Array.from({ length: B }, (_, i) => B + i);
    const relations = Int32Array.from({ length: B }, (_, i) => (i * 7) % R);
    g = { N, R, heads, relations, tails, entities: Array.from({ length: N }, (_, i) => ({ id: `e${i}`, type: i % 3 === 0 ? 'Pin' : 'User' })) };
    batch = { heads, relations, tails, epoch: 0, offset: 0, step: 1 };
    fit = (init) => {
      const { entity, projection } = init.tables;
      const d = entity.length / N, k = init.tables.relation.length / R;
      for (let i = 0; i < B; i++) {
        const r = relations[i], M = projection!.subarray(r * k * d, (r + 1) * k * d);
        const v = minNormSolution(M, init.tables.relation.subarray(r * k, (r + 1) * k), k, d);
        for (let c = 0; c < d; c++) entity[(B + i) * d + c] = entity[i * d + c] + v[c] * (1 + 0.01 * Math.sin(i + c));
      }
    };
  }
  const init = makeInit(g, model, baseConfig({ negatives: 16, ...over }));
  const { entity, relation, anchor } = init.tables;
  if (fit) {
    fit(init);
  } else {
    const d = entity.length / g.N;
    for (let e = 1; e < g.N; e += 2)
      for (let i = 0; i < d; i++) entity[e * d + i] = entity[(e - 1) * d + i] * (1 + 1e-3 * Math.sin(e + i));
    for (let i = 0; i < relation.length; i++) relation[i] *= 1e-3;
  }
  anchor?.fill(0);
  return { init, batch };
}

/** The x of least norm with M x = r (M k × d row-major, k ≤ d, full rank): x = Mᵀ(M Mᵀ)⁻¹ r, in float64. */
function minNormSolution(M: ArrayLike<number>, r: ArrayLike<number>, k: number, d: number): Float64Array {
  // A = M Mᵀ (k × k), solved by Gaussian elimination with partial pivoting.
  const A = Array.from({ length: k }, (_, i) => Float64Array.from({ length: k + 1 }, (_, j) => {
    if (j === k) return r[i];
    let s = 0;
    for (let c = 0; c < d; c++) s += M[i * d + c] * M[j * d + c];
    return s;
  }));
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let i = c + 1; i < k; i++) if (Math.abs(A[i][c]) > Math.abs(A[p][c])) p = i;
    [A[c], A[p]] = [A[p], A[c]];
    for (let i = c + 1; i < k; i++) {
      const f = A[i][c] / A[c][c];
      for (let j = c; j <= k; j++) A[i][j] -= f * A[c][j];
    }
  }
  const v = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = A[i][k];
    for (let j = i + 1; j < k; j++) s -= A[i][j] * v[j];
    v[i] = s / A[i][i];
  }
  const x = new Float64Array(d);
  for (let c = 0; c < d; c++) for (let i = 0; i < k; i++) x[c] += M[i * d + c] * v[i];
  return x;
}
