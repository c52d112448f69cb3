/**
 * LID table bench: rows/s of LidTable.applyGradients (the row-wise optimizer step), JS step vs the native
 * engine's rowwiseStep, in the same run on the same batches.
 *   npm run build:native && npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/lid-table.js \
 *     [--rows N] [--dims LIST] [--batches LIST] [--kinds adagrad,adam] [--rounds N] [--rows-per-round N]
 * Defaults: 2^20 rows, dims 16,64, batches of 512,2048,4096 distinct random rows, both optimizers, 3 rounds of
 * ~200k rows each (different batches, so the rows stepped are spread over the table as in training, not a few
 * batches that stay in cache). Per (kind, dim) one table per path (ADKG_LID_NATIVE=0 makes the JS one), fully
 * materialised and warmed up (pages and optimizer state allocated, one pass) before timing. Rounds alternate JS
 * and native so a load change on a shared machine hits both; the best round of each is reported. The two tables
 * see the same batches, so their values are compared at the end (max relative difference).
 * Stdout: a table (kind, dim, batch, JS rows/s, native rows/s, speed-up, max rel diff); last a JSON line.
 * Without the addon it measures the JS step only and says why.
 */
import * as os from 'os';
import { counterFloat } from '../src/common/rng';
import { LidTable, LidTableConfig, RowOptimizerKind } from '../src/ranking/tables';
import { nativeRowwise } from '../src/ranking/tables/native-rowwise';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
function intList(name: string, fallback: string): number[] {
  const v = arg(name, fallback).split(',').map(Number);
  if (v.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--${name}: positive integers separated by commas`);
  return v;
}

const rows = intList('rows', String(1 << 20))[0];
const dims = intList('dims', '16,64');
const batchSizes = intList('batches', '512,2048,4096');
const kinds = arg('kinds', 'adagrad,adam').split(',') as RowOptimizerKind[];
const rounds = intList('rounds', '3')[0];
const rowsPerRound = intList('rows-per-round', '200000')[0];
if (kinds.some((k) => k !== 'adagrad' && k !== 'adam')) throw new Error('--kinds: adagrad and/or adam');

/**
 * `count` batches of `size` distinct rows each (a partial Fisher–Yates over a shared permutation). They share one
 * gradient block: the step's cost does not depend on the values, and it keeps the batches' memory small.
 */
function makeBatches(size: number, count: number, dim: number, seed: number): { rows: Int32Array; grads: Float32Array }[] {
  const perm = Int32Array.from({ length: rows }, (_, i) => i);
  const grads = Float32Array.from({ length: size * dim }, (_, i) => (counterFloat(seed + 1, 0, i) * 2 - 1) * 0.1);
  const out: { rows: Int32Array; grads: Float32Array }[] = [];
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(counterFloat(seed, b, i) * (rows - i));
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    out.push({ rows: perm.slice(0, size), grads });
  }
  return out;
}

function makeTable(cfg: LidTableConfig, native: boolean): LidTable {
  const saved = process.env.ADKG_LID_NATIVE;
  if (native) delete process.env.ADKG_LID_NATIVE;
  else process.env.ADKG_LID_NATIVE = '0';
  try {
    const t = new LidTable(cfg);
    t.materialize();
    return t;
  } finally {
    if (saved === undefined) delete process.env.ADKG_LID_NATIVE;
    else process.env.ADKG_LID_NATIVE = saved;
  }
}

/** Rows per second of one pass over the batches. */
function timeRound(t: LidTable, batches: { rows: Int32Array; grads: Float32Array }[]): number {
  const start = process.hrtime.bigint();
  let n = 0;
  for (const b of batches) {
    t.applyGradients(b.rows, b.grads);
    n += b.rows.length;
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

function maxRelDiff(a: LidTable, b: LidTable): number {
  let worst = 0;
  const chunk = 65536;
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const ids = Array.from({ length: Math.min(chunk, rows - r0) }, (_, i) => r0 + i);
    const x = a.gather(ids);
    const y = b.gather(ids);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), 1e-6));
  }
  return worst;
}

function main(): void {
  const probe = nativeRowwise();
  const haveNative = 'addon' in probe;
  if (!haveNative) console.error(`lid-table bench: native step unavailable (${probe.reason}); measuring JS only`);
  console.error(`lid-table bench: ${rows} rows, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const results: { kind: string; dim: number; batch: number; jsRowsPerSec: number; nativeRowsPerSec: number | null; maxRelDiff: number | null }[] = [];
  console.log('| kind | dim | batch | JS rows/s | native rows/s | native / JS | max rel diff |');
  console.log('|---|---|---|---|---|---|---|');
  for (const kind of kinds) {
    for (const dim of dims) {
      const cfg: LidTableConfig = { name: `bench-${kind}-${dim}`, rows, dim, initStd: 0.01, seed: 1, optimizer: { kind, learningRate: 0.05 } };
      const js = makeTable(cfg, false);
      const nat = haveNative ? makeTable(cfg, true) : null;
      for (const batch of batchSizes) {
        const batches = makeBatches(batch, Math.max(1, Math.round(rowsPerRound / batch)), dim, 17 + dim + batch);
        // Warm-up: allocates every state page and lets V8 optimise both paths.
        for (const t of [js, nat]) if (t) timeRound(t, batches);
        let bestJs = 0;
        let bestNative = 0;
        for (let r = 0; r < rounds; r++) {
          bestJs = Math.max(bestJs, timeRound(js, batches));
          if (nat) bestNative = Math.max(bestNative, timeRound(nat, batches));
        }
        const diff = nat ? maxRelDiff(nat, js) : null;
        results.push({ kind, dim, batch, jsRowsPerSec: Math.round(bestJs), nativeRowsPerSec: nat ? Math.round(bestNative) : null, maxRelDiff: diff });
        const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M`;
        console.log(`| ${kind} | ${dim} | ${batch} | ${fmt(bestJs)} | ${nat ? fmt(bestNative) : '–'} | ${nat ? `${(bestNative / bestJs).toFixed(1)}×` : '–'} | ${diff === null ? '–' : diff.toExponential(1)} |`);
      }
    }
  }
  console.log(JSON.stringify({ rows, native: haveNative ? true : probe.reason, results }));
}

main();
