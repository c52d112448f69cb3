/**
 * The pure parts of bench/rank.ts over several worlds and model seeds: list options (seeds, variants)
 * and the share of the ids→oracle AUC gap each variant closes, per run and summed up over runs.
 */

/** A bad command-line option: the bench prints its message alone, no stack. */
export class OptionError extends Error {
  override name = 'OptionError';
}

/** A 1-7 range of 10^9 seeds is a typo, not a plan; refuse it before allocating it. */
const MAX_SEEDS = 10_000;
/** The simulator's and the ranking RNGs' seed range. */
const MAX_SEED = 0xffffffff;

function items(flag: string, text: string): string[] {
  if (text.trim() === '') throw new OptionError(`${flag} is empty; give e.g. 1-7 or 1,3,5`);
  return text.split(',').map((s, i) => {
    const t = s.trim();
    if (t === '') throw new OptionError(`${flag} "${text}": item ${i + 1} is empty`);
    return t;
  });
}

/** `1-7`, `1,3,5` or a mix (`1-3,9`) → the seeds in the order given; no repeats, ranges ascending. */
export function parseSeedList(flag: string, text: string): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const seed = (s: string): number => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n > MAX_SEED) throw new OptionError(`${flag} "${text}": seed ${s} is not in [0, 2^32)`);
    return n;
  };
  for (const t of items(flag, text)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(t);
    if (!m) throw new OptionError(`${flag} "${text}": "${t}" is neither a seed (N) nor a range (A-B) of non-negative integers`);
    const a = seed(m[1]);
    const b = m[2] === undefined ? a : seed(m[2]);
    if (b < a) throw new OptionError(`${flag} "${text}": range ${t} runs backwards (write ${b}-${a})`);
    if (out.length + (b - a + 1) > MAX_SEEDS) throw new OptionError(`${flag} "${text}": more than ${MAX_SEEDS} seeds`);
    for (let s = a; s <= b; s++) {
      if (seen.has(s)) throw new OptionError(`${flag} "${text}": seed ${s} is listed twice`);
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

/**
 * A subset of `known` in `known`'s order (the ladder's), with `base` added when missing: every share is
 * measured from it. `added` says whether it was.
 */
export function parseVariantList<T extends string>(flag: string, text: string, known: readonly T[], base: T): { variants: T[]; added: boolean } {
  const asked = new Set<string>();
  for (const t of items(flag, text)) {
    if (!(known as readonly string[]).includes(t)) throw new OptionError(`${flag} "${text}": unknown variant "${t}" (known: ${known.join(',')})`);
    if (asked.has(t)) throw new OptionError(`${flag} "${text}": variant ${t} is listed twice`);
    asked.add(t);
  }
  const added = !asked.has(base);
  asked.add(base);
  return { variants: known.filter((v) => asked.has(v)), added };
}

export const TASKS = ['ctr', 'cvr'] as const;
export type Task = (typeof TASKS)[number];
export type TaskAucs = Record<Task, number | null>;

/** One (world, model seed) run as far as the summary needs it: each variant's AUCs and the oracle's. */
export interface RunAucs {
  variants: ({ variant: string } & TaskAucs)[];
  oracle: TaskAucs | null;
}

/** (auc − ids)/(oracle − ids) in %; null when an AUC is missing or the oracle does not beat ids (no gap to close). */
export function gapShare(auc: number | null, ids: number | null, oracle: number | null): number | null {
  if (auc === null || ids === null || oracle === null || !(oracle > ids)) return null;
  return (100 * (auc - ids)) / (oracle - ids);
}

/** Each non-ids variant's share of the gap in this run, by task (`baseVariant` is the run's ids). */
export function runShares(run: RunAucs, baseVariant = 'ids'): Record<string, TaskAucs> {
  const base = run.variants.find((v) => v.variant === baseVariant);
  const out: Record<string, TaskAucs> = {};
  for (const v of run.variants) {
    if (v.variant === baseVariant) continue;
    out[v.variant] = { ctr: gapShare(v.ctr, base?.ctr ?? null, run.oracle?.ctr ?? null), cvr: gapShare(v.cvr, base?.cvr ?? null, run.oracle?.cvr ?? null) };
  }
  return out;
}

/** Mean and sample standard deviation (n − 1; null below two values); mean null for no values. */
export function meanSd(xs: readonly number[]): { mean: number | null; sd: number | null } {
  if (xs.length === 0) return { mean: null, sd: null };
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  if (xs.length < 2) return { mean, sd: null };
  return { mean, sd: Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) };
}

export interface TaskSummary {
  /** Runs with a share (both AUCs and a positive gap). */
  runs: number;
  shareMean: number | null;
  shareSd: number | null;
  shareMin: number | null;
  /** 100 · Σ gain / Σ gap over the same runs: big-gap runs weigh more, a near-zero gap cannot blow it up. */
  pooledShare: number | null;
  /** AUC − ids AUC, over the runs where both exist. */
  gainMean: number | null;
  gainSd: number | null;
}

export interface VariantSummary {
  variant: string;
  ctr: TaskSummary;
  cvr: TaskSummary;
}

/** Per non-ids variant (first-seen order) and task, over all runs. */
export function summarizeRuns(runs: readonly RunAucs[], baseVariant = 'ids'): VariantSummary[] {
  const names: string[] = [];
  for (const r of runs) for (const v of r.variants) if (v.variant !== baseVariant && !names.includes(v.variant)) names.push(v.variant);
  const task = (name: string, t: Task): TaskSummary => {
    const shares: number[] = [];
    const gains: number[] = [];
    let sumGain = 0;
    let sumGap = 0;
    for (const r of runs) {
      const a = r.variants.find((v) => v.variant === name)?.[t] ?? null;
      const b = r.variants.find((v) => v.variant === baseVariant)?.[t] ?? null;
      if (a === null || b === null) continue;
      gains.push(a - b);
      const s = gapShare(a, b, r.oracle?.[t] ?? null);
      if (s === null) continue;
      shares.push(s);
      sumGain += a - b;
      sumGap += r.oracle![t]! - b;
    }
    const share = meanSd(shares);
    const gain = meanSd(gains);
    return {
      runs: shares.length,
      shareMean: share.mean,
      shareSd: share.sd,
      shareMin: shares.length ? Math.min(...shares) : null,
      pooledShare: shares.length ? (100 * sumGain) / sumGap : null,
      gainMean: gain.mean,
      gainSd: gain.sd,
    };
  };
  return names.map((variant) => ({ variant, ctr: task(variant, 'ctr'), cvr: task(variant, 'cvr') }));
}

const auc = (x: number | null) => (x === null ? '—' : x.toFixed(4));
const pct = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)}%`);
const signed = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);

/** One line per run: per task, each variant's AUC (with its share of the gap) and the oracle's. */
export function formatRunLine(label: string, run: RunAucs, baseVariant = 'ids'): string {
  const shares = runShares(run, baseVariant);
  const part = (t: Task) =>
    `${t.toUpperCase()} ` +
    [
      ...run.variants.map((v) => `${v.variant} ${auc(v[t])}${v.variant === baseVariant ? '' : ` (${pct(shares[v.variant][t])})`}`),
      `oracle ${auc(run.oracle?.[t] ?? null)}`,
    ].join(' ');
  return `${label}  ${part('ctr')} | ${part('cvr')}`;
}

/** The summary table: share of the gap mean ± sd, min, pooled (Σ gain / Σ gap), AUC gain over ids mean ± sd. */
export function formatSummary(summary: readonly VariantSummary[], runs: number): string {
  const head = ['variant', 'task', 'runs', 'share mean ± sd', 'share min', 'share pooled', 'Δ AUC vs ids mean ± sd'];
  const pm = (m: string, sd: string | null) => (sd === null ? m : `${m} ± ${sd}`);
  const rows = summary.flatMap((v) =>
    TASKS.map((t) => {
      const s = v[t];
      return [
        v.variant,
        t.toUpperCase(),
        String(s.runs),
        pm(pct(s.shareMean), s.shareSd === null ? null : `${s.shareSd.toFixed(1)}%`),
        pct(s.shareMin),
        pct(s.pooledShare),
        pm(signed(s.gainMean), s.gainSd === null ? null : s.gainSd.toFixed(4)),
      ];
    }),
  );
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [`summary over ${runs} run(s); share = (auc − ids)/(oracle − ids)`, line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
