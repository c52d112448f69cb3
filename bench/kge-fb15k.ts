/**
 * FB15k-237 bench (issue 4 target): `adkg train` with the documented defaults — no flags beyond
 * --model and --backend (plus --out/--json, which choose where results go) — on FB15k-237 read from
 * ../shared/datasets/kg/FB15k-237.tar.gz. TransR and TransRA run beside TransE; with --other-epochs N
 * they get `--epochs N` (stated in the output) to fit the time on a 2-core box.
 *
 *   npm run build && npx tsc -p tsconfig.json --outDir build/bench && \
 *     node build/bench/bench/kge-fb15k.js [--backend native] [--models transe,transr,transra] [--other-epochs N]
 *
 * Prints each run's JSON on stderr and, last, one JSON line: {dataset, machine, runs: {model: result}}.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeTripleSet } from '../src/common/triple-set';
import { readKgArchive } from '../test/kge-fixtures';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main(): Promise<void> {
  const log = (m: string): void => {
    process.stderr.write(`${m}\n`);
  };
  const backend = arg('backend', 'native');
  const models = arg('models', 'transe').split(',');
  const otherEpochs = arg('other-epochs', '');
  const repo = path.resolve(__dirname, '../../..');
  const bin = path.join(repo, 'bin/adkg.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kge-fb15k-'));
  try {
    const ts = await readKgArchive('FB15k-237');
    await writeTripleSet(path.join(dir, 'triples'), ts);
    log(`FB15k-237 imported: ${JSON.stringify(ts.manifest.counts)}`);
    const runs: Record<string, unknown> = {};
    for (const model of models) {
      const args = ['train', '--triples', path.join(dir, 'triples'), '--model', model, '--backend', backend, '--out', path.join(dir, model), '--json', '--no-progress'];
      if (model !== 'transe' && otherEpochs) args.push('--epochs', otherEpochs);
      log(`$ adkg ${args.join(' ')}`);
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`adkg train --model ${model} failed with status ${r.status}`);
      const lines = r.stdout.trim().split('\n');
      const result = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
      delete result.lossHistory;
      delete result.out;
      runs[model] = { ...result, wallSeconds: (Date.now() - t0) / 1000, flags: args.slice(4).filter((a) => !a.startsWith(dir)) };
      log(JSON.stringify(runs[model]));
    }
    process.stdout.write(`${JSON.stringify({ dataset: 'FB15k-237', machine: `${os.cpus().length}-core ${os.cpus()[0]?.model ?? ''}`.trim(), runs })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`kge-fb15k: ${(e as Error).message}\n`);
  process.exit(1);
});
