/**
 * Simulator throughput: events per second writing events.jsonl + truth.jsonl, set against a peer in
 * the same run: writing the same number of bytes of a prebuilt buffer through the same kind of stream
 * (the disk's floor for this output).
 *   npx tsc -p tsconfig.json --outDir build/bench && node build/bench/bench/simulate.js [--users 85000] [--days 14] [--keep DIR]
 * The defaults give about 10M events. Prints progress to stderr and a final JSON line.
 */
import { createWriteStream, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { simulate } from '../src/sim';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function writeBytes(file: string, total: number): Promise<void> {
  const chunk = Buffer.alloc(4 << 20, 0x61);
  const out = createWriteStream(file, { highWaterMark: 8 << 20 });
  for (let left = total; left > 0; left -= chunk.length) {
    if (!out.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
}

async function main(): Promise<void> {
  const users = Number(arg('users', '85000'));
  const days = Number(arg('days', '14'));
  const keep = process.argv.includes('--keep') ? arg('keep', '') : '';
  const dir = keep || path.join(os.tmpdir(), `adkg-bench-sim-${process.pid}`);
  const config = { users, days, pins: Math.max(500, Math.round(users / 4)), advertisers: Math.max(50, Math.round(users / 40)), categories: 200, seed: 1 };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const m = await simulate(config, dir, { onDay: (d, n, e) => process.stderr.write(`day ${d + 1}/${n}: ${e} events\n`) });
  const simS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const bytes = (await fs.stat(path.join(dir, 'events.jsonl'))).size + (await fs.stat(path.join(dir, 'truth.jsonl'))).size;
  if (!keep) await fs.rm(dir, { recursive: true, force: true });
  const peerFile = path.join(os.tmpdir(), `adkg-bench-sim-peer-${process.pid}`);
  const t1 = performance.now();
  await writeBytes(peerFile, bytes);
  const peerS = (performance.now() - t1) / 1000;
  await fs.rm(peerFile, { force: true });
  const result = {
    bench: 'simulate',
    config,
    events: m.counts.events,
    impressions: m.counts.truth,
    bytesWritten: bytes,
    seconds: +simS.toFixed(2),
    eventsPerSecond: Math.round(m.counts.events / simS),
    cpuUserSeconds: +(cpu.user / 1e6).toFixed(2),
    cpuSystemSeconds: +(cpu.system / 1e6).toFixed(2),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    peerWriteSameBytesSeconds: +peerS.toFixed(2),
    ratioToPeer: +(simS / peerS).toFixed(2),
    loadAverage1m: +os.loadavg()[0].toFixed(2),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench/simulate: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
