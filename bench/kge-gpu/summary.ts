/**
 * bench/kge-gpu's closing table: every setting run.sh measured (the main bench under the defaults, and each extra
 * bench of an opt-in setting, adkg alone) set against the main bench's PyTorch figure of the same configuration, with
 * whether the setting's parity runs passed, and per configuration the fastest setting whose parity passed and whether
 * it meets the issue's target (10× with independent negatives, 3× with shared ones). The extra benches run without
 * PyTorch, so their ratios are only readable here. run.sh prints this last: its lines ("summary all …") in all.log
 * give the run's outcome and which settings to make the defaults.
 *
 *   node .device/app/bench/kge-gpu/summary.js --result OUT/result.json --logs LOGS
 * LOGS holds result-NAME.json (extra bench NAME's last-line JSON) and parity-NAME.rc (parity NAME's exit status).
 */
import * as fs from 'fs';
import * as path from 'path';

/** The parity runs a setting's results rest on (run.sh's names): a setting counts only when all of them passed. */
export const SETTING_PARITY: Record<string, string[]> = {
  default: ['default'],
  stationary: ['stationary'],
  'gram-stationary': ['gram', 'stationary'],
  wgmma: ['wgmma'],
  'gram-wgmma': ['gram', 'wgmma'],
  chunk: ['chunk'],
  'gram-chunk': ['gram', 'chunk'],
  vecloss: ['vecloss'],
  'stationary-vecloss': ['stationary', 'vecloss'],
  gram: ['gram'],
};

/** The issue's target ratio for a configuration (run.ts's names: independent, independent-131k, shared, shared-262k). */
export function targetFor(config: string): number {
  return config.startsWith('independent') ? 10 : 3;
}

/** What run.ts's last line holds, as far as this table reads it. */
export interface BenchResult {
  throughput?: Record<string, Record<string, { adkg?: number; pytorch?: number; lossLast?: number; error?: string }>>;
  error?: string;
}

export type ParityState = 'passed' | 'failed' | 'not run';

export interface SettingFigure {
  setting: string;
  adkg: number;
  ratio?: number;
  parity: ParityState;
}

export interface ConfigSummary {
  model: string;
  config: string;
  pytorch?: number;
  target: number;
  settings: SettingFigure[];
  /** The fastest setting whose parity runs all passed (none when no PyTorch figure or none passed). */
  best?: SettingFigure;
}

/** A setting's parity: failed if any of its runs failed, not run if any is missing, else passed. */
export function parityOf(setting: string, parityRc: Record<string, number>): ParityState {
  const names = SETTING_PARITY[setting] ?? [setting];
  if (names.some((n) => n in parityRc && parityRc[n] !== 0)) return 'failed';
  if (names.some((n) => !(n in parityRc))) return 'not run';
  return 'passed';
}

/**
 * main: the main bench's result (defaults, with PyTorch); extras: each extra bench's result by setting name;
 * parityRc: each parity run's exit status by name. Hybrid and non-default-math keys ("shared@hybrid",
 * "independent@simt") are not settings to choose defaults from and are left out.
 */
export function summarize(main: BenchResult, extras: Record<string, BenchResult>, parityRc: Record<string, number>): ConfigSummary[] {
  const out: ConfigSummary[] = [];
  const sources: [string, BenchResult][] = [['default', main], ...Object.entries(extras)];
  const models = new Set<string>();
  for (const [, r] of sources) for (const m of Object.keys(r.throughput ?? {})) models.add(m);
  for (const model of models) {
    const configs = new Set<string>();
    for (const [, r] of sources) for (const c of Object.keys(r.throughput?.[model] ?? {})) if (!c.includes('@')) configs.add(c);
    for (const config of configs) {
      const pytorch = main.throughput?.[model]?.[config]?.pytorch;
      const settings: SettingFigure[] = [];
      for (const [setting, r] of sources) {
        const adkg = r.throughput?.[model]?.[config]?.adkg;
        if (typeof adkg !== 'number' || !(adkg > 0)) continue;
        settings.push({ setting, adkg, ...(pytorch ? { ratio: adkg / pytorch } : {}), parity: parityOf(setting, parityRc) });
      }
      const passed = settings.filter((s) => s.parity === 'passed' && s.ratio !== undefined);
      const best = passed.reduce<SettingFigure | undefined>((b, s) => (!b || s.adkg > b.adkg ? s : b), undefined);
      out.push({ model, config, ...(pytorch ? { pytorch } : {}), target: targetFor(config), settings, ...(best ? { best } : {}) });
    }
  }
  return out;
}

const millions = (x: number) => `${(x / 1e6).toFixed(2)}M`;

/** One line per model and configuration, then the settings that are fastest somewhere (the candidates for defaults). */
export function formatSummary(rows: ConfigSummary[]): string[] {
  const lines = rows.map((r) => {
    const cells = r.settings.map((s) => `${s.setting} ${millions(s.adkg)}${s.ratio !== undefined ? ` ${s.ratio.toFixed(2)}×` : ''}${s.parity === 'passed' ? '' : ` (parity ${s.parity})`}`);
    const verdict = r.pytorch === undefined
      ? 'no PyTorch figure in this run'
      : r.best
        ? `best ${r.best.setting} ${r.best.ratio!.toFixed(2)}× (target ${r.target}×: ${r.best.ratio! >= r.target ? 'met' : 'not met'})`
        : 'no setting with passed parity';
    return `summary all ${r.model} ${r.config}: pytorch ${r.pytorch === undefined ? '—' : millions(r.pytorch)}; ${cells.join(' | ') || 'no figures'}; ${verdict}`;
  });
  const winners = [...new Set(rows.filter((r) => r.best).map((r) => r.best!.setting))];
  lines.push(`summary all: fastest with passed parity: ${winners.length ? winners.join(', ') : 'none'}`);
  return lines;
}

/**
 * The hybrid placement under each staging (run.ts keys "CONFIG@hybrid", staging copy, and "CONFIG@hybrid-mapped"):
 * one line per model and configuration with both, mapped's speed-up over copy and how far apart their last losses are
 * (the same batches from the same start: they differ only by the GPU's atomics' order, far below 1e-3).
 */
export function stagingLines(main: BenchResult): string[] {
  const lines: string[] = [];
  for (const [model, byKey] of Object.entries(main.throughput ?? {})) {
    for (const [key, copy] of Object.entries(byKey)) {
      const m = /^(.+)@hybrid$/.exec(key);
      const mapped = m ? byKey[`${m[1]}@hybrid-mapped`] : undefined;
      if (!m || !mapped) continue;
      const cell = (x: { adkg?: number; error?: string }) => (typeof x.adkg === 'number' ? millions(x.adkg) : `FAILED (${x.error ?? 'no figure'})`);
      let tail = '';
      if (typeof copy.adkg === 'number' && typeof mapped.adkg === 'number') {
        tail = ` (${(mapped.adkg / copy.adkg).toFixed(2)}× copy)`;
        if (typeof copy.lossLast === 'number' && typeof mapped.lossLast === 'number') {
          const diff = Math.abs(mapped.lossLast - copy.lossLast) / Math.max(1e-12, Math.abs(copy.lossLast));
          tail += `; last loss ${copy.lossLast.toFixed(4)} / ${mapped.lossLast.toFixed(4)} (${diff <= 1e-3 ? 'equal' : 'DIFFER'}: ${diff.toExponential(1)})`;
        }
      }
      lines.push(`summary staging ${model} ${m[1]}@hybrid: copy ${cell(copy)} | mapped ${cell(mapped)}${tail}`);
    }
  }
  return lines;
}

/** Reads LOGS as run.sh leaves it: parity-NAME.rc and result-NAME.json. A result that is not JSON is named, not fatal. */
export function readLogs(logs: string): { extras: Record<string, BenchResult>; parityRc: Record<string, number>; problems: string[] } {
  const extras: Record<string, BenchResult> = {}, parityRc: Record<string, number> = {}, problems: string[] = [];
  for (const f of fs.existsSync(logs) ? fs.readdirSync(logs).sort() : []) {
    const rc = /^parity-(.+)\.rc$/.exec(f), res = /^result-(.+)\.json$/.exec(f);
    if (rc) {
      const v = Number(fs.readFileSync(path.join(logs, f), 'utf8').trim());
      if (Number.isInteger(v)) parityRc[rc[1]] = v;
      else problems.push(`${f}: not an exit status`);
    } else if (res) {
      const r = lastJsonLine(path.join(logs, f));
      if (r) extras[res[1]] = r;
      else problems.push(`${f}: no JSON result (the bench did not finish)`);
    }
  }
  return { extras, parityRc, problems };
}

function lastJsonLine(file: string): BenchResult | undefined {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  try {
    return lines.length ? (JSON.parse(lines[lines.length - 1]) as BenchResult) : undefined;
  } catch {
    return undefined;
  }
}

function main(argv: string[]): number {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
  };
  const resultFile = get('result'), logs = get('logs');
  if (argv.includes('--help') || !resultFile || !logs) {
    console.log('usage: summary.js --result OUT/result.json --logs LOGS (run.sh\'s per-step logs: parity-NAME.rc, result-NAME.json)');
    return argv.includes('--help') ? 0 : 2;
  }
  const mainResult = fs.existsSync(resultFile) ? lastJsonLine(resultFile) : undefined;
  if (!mainResult) console.log(`summary: ${resultFile} holds no JSON result (the main bench did not finish): no PyTorch figures`);
  const { extras, parityRc, problems } = readLogs(logs);
  for (const p of problems) console.log(`summary: ${p}`);
  for (const line of formatSummary(summarize(mainResult ?? {}, extras, parityRc))) console.log(line);
  for (const line of stagingLines(mainResult ?? {})) console.log(line);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
