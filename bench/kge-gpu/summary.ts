/**
 * bench/kge-gpu's closing table: every setting run.sh measured (the main bench under the defaults, and each extra
 * bench of an opt-in setting, adkg alone) set against the main bench's PyTorch figure of the same configuration, with
 * whether the setting's parity runs passed, and per configuration the fastest setting whose parity passed and whether
 * it meets the issue's target (10× with independent negatives, 3× with shared ones). The extra benches run without
 * PyTorch, so their ratios are only readable here. run.sh prints this last: its lines ("summary all …") in all.log
 * give the run's outcome and which settings to make the defaults; "summary defaults: …" says them as environment
 * assignments (with --defaults-out, also into a file that a follow-up run.sh can be run under).
 *
 *   node .device/app/bench/kge-gpu/summary.js --result OUT/result.json --logs LOGS [--defaults-out FILE]
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

/** One measured figure of run.ts's last line, with the engine settings trainRun reported it ran under ("none": the
 * setting does not apply there, e.g. no GEMM tile for TransE). */
export interface BenchEntry {
  adkg?: number;
  pytorch?: number;
  lossLast?: number;
  error?: string;
  gemmTile?: string;
  projectedDistance?: string;
  sharedLoss?: string;
  staging?: string;
}

/** What run.ts's last line holds, as far as this table reads it. */
export interface BenchResult {
  throughput?: Record<string, Record<string, BenchEntry>>;
  error?: string;
}

export type ParityState = 'passed' | 'failed' | 'not run';

export interface SettingFigure {
  setting: string;
  adkg: number;
  ratio?: number;
  parity: ParityState;
  /** The engine settings (KNOB_ENV's keys) the figure ran under, where the run reported them and they apply. */
  knobs: Record<string, string>;
}

/** The engine settings a default can be chosen for, and the environment variable that sets each (cuda-backend.ts). */
export const KNOB_ENV: Record<string, string> = {
  gemmTile: 'ADKG_CUDA_GEMM_TILE',
  projectedDistance: 'ADKG_CUDA_PROJECTED_DISTANCE',
  sharedLoss: 'ADKG_CUDA_SHARED_LOSS',
  staging: 'ADKG_CUDA_STAGING',
};

// (A resident figure's staging is "none", and the hybrid keys are not settings rows: staging is the pairs' to decide.)
function knobsOf(entry: BenchEntry): Record<string, string> {
  const knobs: Record<string, string> = {};
  for (const k of Object.keys(KNOB_ENV)) {
    const v = entry[k as keyof BenchEntry];
    if (typeof v === 'string' && v !== 'none') knobs[k] = v;
  }
  return knobs;
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
        const entry = r.throughput?.[model]?.[config];
        const adkg = entry?.adkg;
        if (!entry || typeof adkg !== 'number' || !(adkg > 0)) continue;
        settings.push({ setting, adkg, ...(pytorch ? { ratio: adkg / pytorch } : {}), parity: parityOf(setting, parityRc), knobs: knobsOf(entry) });
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

/** The hybrid placement of one model and configuration under each staging (run.ts keys "CONFIG@hybrid", staging
 * copy, and "CONFIG@hybrid-mapped"), with how far apart their last losses are (relative), where both have one. */
interface StagingPair {
  model: string;
  config: string;
  copy: BenchEntry;
  mapped: BenchEntry;
  lossDiff?: number;
}

function stagingPairs(main: BenchResult): StagingPair[] {
  const pairs: StagingPair[] = [];
  for (const [model, byKey] of Object.entries(main.throughput ?? {})) {
    for (const [key, copy] of Object.entries(byKey)) {
      const m = /^(.+)@hybrid$/.exec(key);
      const mapped = m ? byKey[`${m[1]}@hybrid-mapped`] : undefined;
      if (!m || !mapped) continue;
      const lossDiff = typeof copy.lossLast === 'number' && typeof mapped.lossLast === 'number'
        ? Math.abs(mapped.lossLast - copy.lossLast) / Math.max(1e-12, Math.abs(copy.lossLast))
        : undefined;
      pairs.push({ model, config: m[1], copy, mapped, ...(lossDiff !== undefined ? { lossDiff } : {}) });
    }
  }
  return pairs;
}

// The same batches from the same start differ only by the GPU's atomics' order, far below this.
const STAGING_LOSS_TOLERANCE = 1e-3;

/**
 * One line per model and configuration measured in the hybrid placement under both stagings: mapped's speed-up over
 * copy and whether their last losses agree.
 */
export function stagingLines(main: BenchResult): string[] {
  return stagingPairs(main).map(({ model, config, copy, mapped, lossDiff }) => {
    const cell = (x: BenchEntry) => (typeof x.adkg === 'number' ? millions(x.adkg) : `FAILED (${x.error ?? 'no figure'})`);
    let tail = '';
    if (typeof copy.adkg === 'number' && typeof mapped.adkg === 'number') {
      tail = ` (${(mapped.adkg / copy.adkg).toFixed(2)}× copy)`;
      if (lossDiff !== undefined) {
        tail += `; last loss ${copy.lossLast!.toFixed(4)} / ${mapped.lossLast!.toFixed(4)} (${lossDiff <= STAGING_LOSS_TOLERANCE ? 'equal' : 'DIFFER'}: ${lossDiff.toExponential(1)})`;
      }
    }
    return `summary staging ${model} ${config}@hybrid: copy ${cell(copy)} | mapped ${cell(mapped)}${tail}`;
  });
}

/** The defaults this run argues for. */
export interface DefaultsChoice {
  /** Environment variable → value, for each setting every configuration that decided it chose alike. */
  env: Record<string, string>;
  /** Environment variable → value → the configurations ("transr independent") whose fastest setting has that value,
   * for each setting on which they disagree. */
  conflicts: Record<string, Record<string, string[]>>;
}

/**
 * The defaults from each configuration's fastest setting with passed parity. A configuration decides a setting only
 * where this run measured it under more than one value (so TransE, which has no GEMM tile, and the shared
 * configurations, which have no Gram form, decide neither); the staging is decided by each hybrid pair: mapped where
 * it was faster and its last loss agreed with copy's, else copy.
 */
export function chooseDefaults(rows: ConfigSummary[], main: BenchResult): DefaultsChoice {
  const votes: Record<string, Record<string, string[]>> = {};
  const vote = (knob: string, value: string, who: string) => {
    const byValue = (votes[KNOB_ENV[knob]] ??= {});
    (byValue[value] ??= []).push(who);
  };
  for (const r of rows) {
    if (!r.best) continue;
    for (const [knob, value] of Object.entries(r.best.knobs)) {
      const seen = new Set(r.settings.map((s) => s.knobs[knob]).filter((v) => v !== undefined));
      if (seen.size > 1) vote(knob, value, `${r.model} ${r.config}`);
    }
  }
  for (const p of stagingPairs(main)) {
    // A mapped run whose tables were all below the page-lock floor copied like the other: it decides nothing.
    if (typeof p.copy.adkg !== 'number' || p.mapped.staging === 'copy') continue;
    const mappedWins = typeof p.mapped.adkg === 'number' && p.mapped.adkg > p.copy.adkg && p.lossDiff !== undefined && p.lossDiff <= STAGING_LOSS_TOLERANCE;
    vote('staging', mappedWins ? 'mapped' : 'copy', `${p.model} ${p.config}@hybrid`);
  }
  const choice: DefaultsChoice = { env: {}, conflicts: {} };
  // In KNOB_ENV's order, so that the lines and the file read the same from run to run.
  for (const name of Object.values(KNOB_ENV)) {
    const byValue = votes[name];
    if (!byValue) continue;
    const values = Object.keys(byValue);
    if (values.length === 1) choice.env[name] = values[0];
    else choice.conflicts[name] = byValue;
  }
  return choice;
}

/** The chosen defaults as environment assignments ("A=x B=y"), for `env $(cat FILE) bash bench/kge-gpu/run.sh`. */
export function envLine(choice: DefaultsChoice): string {
  return Object.entries(choice.env).map(([name, value]) => `${name}=${value}`).join(' ');
}

export function defaultsLines(choice: DefaultsChoice): string[] {
  const lines = Object.entries(choice.conflicts).map(([name, byValue]) =>
    `summary defaults: conflict on ${name}: ${Object.keys(byValue).sort().map((v) => `${v} (${byValue[v].join(', ')})`).join(' | ')}`);
  const env = envLine(choice);
  const conflicted = Object.keys(choice.conflicts);
  lines.unshift(`summary defaults: ${env || 'no setting was measured under more than one value with passed parity'}${conflicted.length ? ` (without ${conflicted.join(', ')}: in conflict, below)` : ''}`);
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

/** The command: the tables on standard output, and with --defaults-out the chosen defaults' file. Returns the exit status. */
export function main(argv: string[]): number {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
  };
  const resultFile = get('result'), logs = get('logs'), defaultsOut = get('defaults-out');
  if (argv.includes('--help') || !resultFile || !logs) {
    console.log('usage: summary.js --result OUT/result.json --logs LOGS [--defaults-out FILE]\n' +
      '  LOGS: run.sh\'s per-step logs (parity-NAME.rc, result-NAME.json)\n' +
      '  --defaults-out FILE: the chosen defaults as environment assignments, written only when no configurations disagree');
    return argv.includes('--help') ? 0 : 2;
  }
  const mainResult = fs.existsSync(resultFile) ? lastJsonLine(resultFile) : undefined;
  if (!mainResult) console.log(`summary: ${resultFile} holds no JSON result (the main bench did not finish): no PyTorch figures`);
  const { extras, parityRc, problems } = readLogs(logs);
  for (const p of problems) console.log(`summary: ${p}`);
  const rows = summarize(mainResult ?? {}, extras, parityRc);
  for (const line of formatSummary(rows)) console.log(line);
  for (const line of stagingLines(mainResult ?? {})) console.log(line);
  const choice = chooseDefaults(rows, mainResult ?? {});
  for (const line of defaultsLines(choice)) console.log(line);
  if (defaultsOut) {
    // Only a choice without conflicts is written, so that a follow-up run under the file never runs half a choice.
    fs.rmSync(defaultsOut, { force: true });
    if (Object.keys(choice.conflicts).length === 0 && envLine(choice)) {
      fs.writeFileSync(defaultsOut, envLine(choice) + '\n');
      console.log(`summary defaults: written to ${defaultsOut} (the issue's bench under them: env $(cat ${defaultsOut}) bash bench/kge-gpu/run.sh)`);
    }
  }
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
