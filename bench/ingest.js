#!/usr/bin/env node
'use strict';
/**
 * bench/ingest: events/s and peak RSS of `adkg ingest` into Neo4j and into the memory store.
 *
 * Plain JavaScript on the compiled library (no ts-node in this project): run `npm run build` first, then
 *   node bench/ingest.js [--events 1000000] [--second [--restart]] [--batch 5000] [--concurrency N (default: the store's own, 2 for Neo4j with adkg.writeEvents)] [--only neo4j|memory] [--reingest]
 *
 * It writes a synthetic event file (src/graph/synthetic-events.ts: catalog, onsite and offsite events with
 * 1% duplicates, 0.1% invalid lines, 10% of offsite without consent), then ingests it in a child process per
 * store, so each peak RSS is that store's alone. Neo4j: a private server from the tools/neo4j launcher on a free
 * port with a temporary home (or the server at ADKG_BENCH_NEO4J_URI, in a fresh namespace), idempotent writes
 * as in production. RSS is sampled through the run to show whether memory grows with the file.
 * --second: then ingest a second file of as many new events (other eventIds, same users and pins) into the same,
 * now warm, server that already holds the first: the steady state of a long-running server, beside the cold one.
 * --restart (with --second): restart the server on that data first, so the second file meets a cold JVM and a
 * populated graph (the JIT's share of the cold figure).
 * Progress goes to stderr; the last line on stdout is one JSON object.
 */
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { jvmOptions } = require('../tools/neo4j/jvm-options');

const ROOT = path.resolve(__dirname, '..');
let graph;
try {
  graph = require(path.join(ROOT, 'dist', 'graph'));
} catch (e) {
  console.error('bench/ingest: dist/ is missing or stale; run `npm run build` first');
  process.exit(2);
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const flag = (name) => process.argv.includes(`--${name}`);
const log = (...a) => console.error('[bench/ingest]', ...a);

async function childPhase() {
  // One store per process: ingest, sampling RSS, and report.
  const store = arg('phase');
  const file = arg('file');
  const samples = [];
  const timer = setInterval(() => samples.push(process.memoryUsage().rss), 250);
  const opened =
    store === 'neo4j'
      ? await graph.Neo4jStore.open({ uri: arg('uri'), namespace: arg('namespace', ''), maxRetryTimeMs: 60000 })
      : await graph.MemoryStore.open({ dbPath: arg('db') });
  const progress = [];
  const summary = await graph.ingestFiles(opened, [file], {
    batchSize: Number(arg('batch', graph.DEFAULT_BATCH_SIZE)),
    concurrency: arg('concurrency', 'store') === 'store' ? undefined : Number(arg('concurrency')),
    onProgress: (p) => progress.push([p.bytesRead / p.totalBytes, process.memoryUsage().rss]),
  });
  const closeStart = Date.now();
  await opened.close(); // the memory store writes its file here
  clearInterval(timer);
  const rssAt = (f) => {
    const hit = progress.find(([x]) => x >= f);
    return hit ? Math.round(hit[1] / 2 ** 20) : null;
  };
  const firstHalf = progress.filter(([x]) => x <= 0.5).reduce((m, [, r]) => Math.max(m, r), 0);
  const secondHalf = progress.filter(([x]) => x > 0.5).reduce((m, [, r]) => Math.max(m, r), 0);
  const cpu = process.cpuUsage();
  const out = {
    store,
    ...(store === 'neo4j' ? { writePath: opened.writePath } : {}),
    concurrency: arg('concurrency', 'store') === 'store' ? opened.preferredConcurrency : Number(arg('concurrency')),
    clientCpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    read: summary.read,
    stored: summary.stored,
    duplicates: summary.duplicates,
    rejected: summary.rejected,
    droppedNoConsent: summary.droppedNoConsent,
    seconds: Number(summary.seconds.toFixed(2)),
    eventsPerSecond: summary.eventsPerSecond,
    closeSeconds: Number(((Date.now() - closeStart) / 1000).toFixed(2)),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    rssMBAt: { '10%': rssAt(0.1), '25%': rssAt(0.25), '50%': rssAt(0.5), '75%': rssAt(0.75), '100%': rssAt(1) },
    peakRssMBFirstHalf: Math.round(firstHalf / 2 ** 20),
    peakRssMBSecondHalf: Math.round(secondHalf / 2 ** 20),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runChild(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`phase ${args[1]} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNeo4j(home) {
  const jar = path.join(ROOT, 'tools', 'neo4j', 'target', 'adkg-neo4j.jar');
  if (!fs.existsSync(jar)) throw new Error(`${jar} is missing: run npm run services:up once (it builds the launcher)`);
  const port = await freePort();
  // The production JVM options (tools/neo4j/jvm.options); ADKG_BENCH_NEO4J_JVM_OPTS adds options to try.
  const extra = (process.env.ADKG_BENCH_NEO4J_JVM_OPTS || '').split(/\s+/).filter(Boolean);
  const opts = jvmOptions(process.env.ADKG_BENCH_NEO4J_HEAP || '1g');
  const proc = spawn('java', [...opts, ...extra, '-jar', jar], {
    env: { ...process.env, ADKG_NEO4J_HOME: home, ADKG_NEO4J_BOLT_PORT: String(port), ADKG_NEO4J_PAGECACHE: process.env.ADKG_BENCH_NEO4J_PAGECACHE || '512m' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let text = '';
    proc.stdout.on('data', (d) => {
      text += d;
      if (text.includes('ready on bolt://')) resolve();
    });
    proc.on('exit', (c) => reject(new Error(`Neo4j exited with ${c}: ${text}`)));
  });
  return { uri: `bolt://127.0.0.1:${port}`, proc };
}

async function main() {
  if (arg('phase')) return childPhase();
  const events = Number(arg('events', 1000000));
  const batch = arg('batch', String(graph.DEFAULT_BATCH_SIZE));
  const concurrency = arg('concurrency', 'store');
  const only = arg('only', null);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-bench-ingest-'));
  const file = path.join(work, 'events.jsonl');
  log(`generating ${events} events into ${file}`);
  const lines = await graph.writeSyntheticEventFile(file, { events, seed: 1 });
  const bytes = fs.statSync(file).size;
  log(`${lines} lines, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  const result = { bench: 'ingest', events, lines, fileMiB: Number((bytes / 2 ** 20).toFixed(1)), batch: Number(batch), concurrency, cpus: os.cpus().length, node: process.version };

  try {
    if (only !== 'memory') {
      let server = null;
      let uri = process.env.ADKG_BENCH_NEO4J_URI;
      const namespace = uri ? `bench${Date.now() % 1e8}` : '';
      if (!uri) {
        log('starting a private Neo4j (tools/neo4j launcher)');
        server = await startNeo4j(path.join(work, 'neo4j'));
        uri = server.uri;
      }
      // CPU seconds of our private server (Linux /proc): how much of the 2-core box Neo4j itself used.
      const serverCpu = () => {
        try {
          const f = fs.readFileSync(`/proc/${server.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
          return (Number(f[11]) + Number(f[12])) / 100;
        } catch {
          return null;
        }
      };
      // One ingest child into this server, with the server's CPU over it when the server is ours.
      const ingestNeo4j = async (what, eventsFile) => {
        const cpu0 = server ? serverCpu() : null;
        const r = await runChild(['--phase', 'neo4j', '--file', eventsFile, '--uri', uri, '--namespace', namespace, '--batch', batch, '--concurrency', concurrency]);
        const cpu1 = server ? serverCpu() : null;
        if (cpu0 !== null && cpu1 !== null) {
          r.serverCpuSeconds = Number((cpu1 - cpu0).toFixed(2));
          r.serverCpuMicrosPerEvent = Math.round((1e6 * (cpu1 - cpu0)) / r.read);
        }
        log(what, JSON.stringify(r));
        return r;
      };
      try {
        log(`ingesting into Neo4j at ${uri}${namespace ? ` namespace ${namespace}` : ''}`);
        result.neo4j = await ingestNeo4j('neo4j', file);
        if (flag('second')) {
          const second = path.join(work, 'events-2.jsonl');
          await graph.writeSyntheticEventFile(second, { events, seed: 1, eventIdPrefix: 'ev2-', startMs: Date.UTC(2026, 1, 1) });
          if (flag('restart') && server) {
            // A fresh JVM on the data of the first file: separates the JIT's warm-up from an empty graph's extra work.
            log('restarting the private Neo4j on the same data');
            server.proc.kill('SIGTERM');
            await new Promise((r) => server.proc.once('exit', r));
            server = await startNeo4j(path.join(work, 'neo4j'));
            uri = server.uri;
          }
          log(`ingesting a second file of new events into the same${flag('restart') ? ', restarted,' : ' (warm)'} server`);
          result.neo4jSecond = await ingestNeo4j('neo4j second file', second);
          result.neo4jSecond.serverRestarted = flag('restart') && !!server;
        }
        if (flag('reingest')) {
          log('re-ingesting the same file into Neo4j (everything a duplicate)');
          result.neo4jReingest = await ingestNeo4j('neo4j re-ingest', file);
        }
        if (namespace) {
          const s = await graph.Neo4jStore.open({ uri, namespace });
          await s.dropNamespace();
          await s.close();
        }
      } finally {
        if (server) {
          server.proc.kill('SIGTERM');
          await new Promise((r) => server.proc.once('exit', r));
        }
      }
    }
    if (only !== 'neo4j') {
      log('ingesting into the memory store');
      result.memory = await runChild(['--phase', 'memory', '--file', file, '--db', path.join(work, 'graph.jsonl'), '--batch', batch, '--concurrency', concurrency]);
      log('memory', JSON.stringify(result.memory));
    }
    result.loadAverage = os.loadavg().map((x) => Number(x.toFixed(2)));
    if (result.neo4j && result.memory) result.neo4jToMemoryThroughput = Number((result.neo4j.eventsPerSecond / result.memory.eventsPerSecond).toFixed(3));
  } finally {
    if (!flag('keep')) fs.rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  console.error(`bench/ingest: ${e.stack || e.message}`);
  process.exit(1);
});
