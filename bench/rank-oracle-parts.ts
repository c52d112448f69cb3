/**
 * What the CVR oracle's AUC is made of, on a simulated world's evaluation clicks: the simulator's conversion
 * model is optIn · σ(−3.8 + 5(intent − ¼) + 1.5·loyal + interest + advQuality) (src/sim/day-simulator.ts), and
 * this rebuilds the world from its seed to score the evaluation clicks with parts of it left out — how much of
 * the oracle's AUC each latent factor carries, and so which signals a ranking model must recover.
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/rank-oracle-parts.js WORLD_DIR [--seed N] [--users N] [--days N] [--eval-days N]
 * WORLD_DIR is `adkg simulate --out`'s directory (truth.jsonl); the world's config must be given as it was
 * simulated (defaults: the simulator's). Prints one line per score and a final JSON line.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { rocAuc } from '../src/ranking/evaluation/metrics';
import { resolveSimConfig } from '../src/sim/config';
import { buildWorld, interestIn, isLoyal } from '../src/sim/world';

const DAY_MS = 86_400_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir || dir.startsWith('--')) throw new Error('usage: rank-oracle-parts.js WORLD_DIR [--seed N] [--users N] [--days N] [--eval-days N]');
  const num = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)));
  const config = resolveSimConfig(Object.fromEntries(Object.entries({ seed: num('seed'), users: num('users'), days: num('days') }).filter(([, v]) => v !== undefined)));
  const w = buildWorld(config);
  const evalStart = Date.parse(config.start) + (config.days - (num('eval-days') ?? 2)) * DAY_MS;
  const rows: { y: number; pConvert: number; u: number; a: number; c: number }[] = [];
  const text = await fs.readFile(path.join(dir, 'truth.jsonl'), 'utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { ts: number; userId: string; pinId: string; advertiserId: string; click: number; conversion: number; pConvert: number };
    if (r.ts < evalStart || !r.click) continue;
    const p = Number(r.pinId.slice(1));
    rows.push({ y: r.conversion, pConvert: r.pConvert, u: Number(r.userId.slice(1)), a: Number(r.advertiserId.slice(1)), c: w.pinCategory[p] });
  }
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  type Row = (typeof rows)[number];
  const parts: Record<string, (r: Row) => number> = {
    intent: (r) => 5 * (w.intent[r.u] - 0.25),
    loyal: (r) => (isLoyal(w, r.u, r.a) ? 1.5 : 0),
    interest: (r) => interestIn(w, r.u, r.c),
    advQuality: (r) => w.advQuality[r.a],
  };
  const model = (r: Row, keep: string[]) => w.optIn[r.u] * sigmoid(-3.8 + keep.reduce((s, k) => s + parts[k](r), 0));
  const y = rows.map((r) => r.y);
  const score = (f: (r: Row) => number) => Number((rocAuc(y, rows.map(f)) ?? NaN).toFixed(4));
  const all = Object.keys(parts);
  const result: Record<string, number> = {
    oracle: score((r) => r.pConvert),
    rebuilt: score((r) => model(r, all)),
    optInOnly: score((r) => w.optIn[r.u]),
    optInAndIntent: score((r) => model(r, ['intent'])),
  };
  for (const k of all) result[`without_${k}`] = score((r) => model(r, all.filter((x) => x !== k)));
  const conversions = y.reduce((s, v) => s + v, 0);
  process.stderr.write(`${dir}: ${rows.length} evaluation clicks, ${conversions} conversions (seed ${config.seed})\n`);
  for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(20)} ${v.toFixed(4)}\n`);
  if (result.rebuilt !== result.oracle) process.stderr.write('warning: the rebuilt model does not reproduce truth.jsonl\'s pConvert: wrong --seed/--users/--days?\n');
  process.stdout.write(JSON.stringify({ clicks: rows.length, conversions, ...result }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`rank-oracle-parts: ${(e as Error).message}\n`);
  process.exit(1);
});
