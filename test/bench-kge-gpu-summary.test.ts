import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chooseDefaults, defaultsLines, envLine, formatSummary, main as summaryMain, parityOf, readLogs, stagingLines, summarize, targetFor, type BenchResult } from '../bench/kge-gpu/summary';

// Shaped as run.ts's last lines: the main bench with PyTorch, the extra benches without.
const main: BenchResult = {
  throughput: {
    transr: {
      independent: { adkg: 3.95e6, pytorch: 0.73e6 },
      'shared-262k': { adkg: 77.46e6, pytorch: 26e6 },
      'shared@hybrid': { adkg: 2.58e6, pytorch: 19.76e6 },
    },
  },
};
const extras: Record<string, BenchResult> = {
  stationary: { throughput: { transr: { independent: { adkg: 7.5e6 }, 'shared-262k': { adkg: 80e6 } } } },
  wgmma: { throughput: { transr: { independent: { adkg: 8e6 }, 'shared-262k': { adkg: 90e6 } } } },
  'gram-stationary': { throughput: { transr: { independent: { adkg: 6e6 } } } },
  chunk: { throughput: { transr: { independent: { error: 'misaligned' } } } },
};

describe('bench/kge-gpu summary', () => {
  test('targets: 10× for independent negatives, 3× for shared', () => {
    expect(targetFor('independent')).toBe(10);
    expect(targetFor('independent-131k')).toBe(10);
    expect(targetFor('shared')).toBe(3);
    expect(targetFor('shared-262k')).toBe(3);
  });

  test("a setting's parity: failed if any of its runs failed, not run if one is missing", () => {
    expect(parityOf('stationary', { stationary: 0 })).toBe('passed');
    expect(parityOf('stationary', { stationary: 1 })).toBe('failed');
    expect(parityOf('stationary', {})).toBe('not run');
    expect(parityOf('gram-stationary', { stationary: 0 })).toBe('not run');
    expect(parityOf('gram-stationary', { stationary: 0, gram: 124 })).toBe('failed');
    expect(parityOf('gram-stationary', { stationary: 0, gram: 0 })).toBe('passed');
    expect(parityOf('stationary-vecloss', { stationary: 0, vecloss: 1 })).toBe('failed');
    expect(parityOf('stationary-vecloss', { stationary: 0, vecloss: 0 })).toBe('passed');
    expect(parityOf('default', { default: 0, stationary: 1 })).toBe('passed');
  });

  test('ratios against the main bench\'s PyTorch; the best is the fastest setting whose parity passed', () => {
    const rows = summarize(main, extras, { default: 0, stationary: 0, wgmma: 1, gram: 0 });
    const ind = rows.find((r) => r.config === 'independent')!;
    expect(ind.pytorch).toBe(0.73e6);
    expect(ind.settings.map((s) => s.setting)).toEqual(['default', 'stationary', 'wgmma', 'gram-stationary']); // chunk: no figure
    expect(ind.settings.find((s) => s.setting === 'stationary')!.ratio).toBeCloseTo(7.5 / 0.73, 10);
    expect(ind.settings.find((s) => s.setting === 'wgmma')!.parity).toBe('failed');
    // wgmma is faster but failed parity: stationary is the best.
    expect(ind.best?.setting).toBe('stationary');
    expect(ind.target).toBe(10);
    const shared = rows.find((r) => r.config === 'shared-262k')!;
    expect(shared.best?.setting).toBe('stationary');
    // Hybrid keys are not settings to choose defaults from.
    expect(rows.some((r) => r.config.includes('@'))).toBe(false);
  });

  test('lines say the verdict against the target, and which settings are fastest somewhere', () => {
    const lines = formatSummary(summarize(main, extras, { default: 0, stationary: 0, wgmma: 0, gram: 0 }));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^summary all transr independent: pytorch 0\.73M; default 3\.95M 5\.41× \| stationary 7\.50M 10\.27× \| wgmma 8\.00M 10\.96× \| gram-stationary 6\.00M 8\.22×; best wgmma 10\.96× \(target 10×: met\)$/);
    expect(lines[1]).toMatch(/shared-262k: .*best wgmma 3\.46× \(target 3×: met\)$/);
    expect(lines[2]).toBe('summary all: fastest with passed parity: wgmma');
    const failing = formatSummary(summarize(main, extras, { default: 0, stationary: 1 }));
    expect(failing[0]).toContain('stationary 7.50M 10.27× (parity failed)');
    expect(failing[0]).toContain('wgmma 8.00M 10.96× (parity not run)');
    expect(failing[0]).toMatch(/best default 5\.41× \(target 10×: not met\)$/);
  });

  test('without the main bench there are no ratios and no best, and the line says why', () => {
    const lines = formatSummary(summarize({}, extras, { stationary: 0 }));
    expect(lines[0]).toMatch(/^summary all transr independent: pytorch —; stationary 7\.50M \|.*; no PyTorch figure in this run$/);
    expect(lines[lines.length - 1]).toBe('summary all: fastest with passed parity: none');
  });

  test('reads run.sh\'s logs: exit statuses and last-line JSON; an unfinished bench is named', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-summary-'));
    try {
      fs.writeFileSync(path.join(dir, 'parity-default.rc'), '0\n');
      fs.writeFileSync(path.join(dir, 'parity-wgmma.rc'), '124\n');
      fs.writeFileSync(path.join(dir, 'parity-gram.log'), 'not read\n');
      fs.writeFileSync(path.join(dir, 'result-stationary.json'), 'progress\n' + JSON.stringify(extras.stationary) + '\n');
      fs.writeFileSync(path.join(dir, 'result-chunk.json'), '');
      const r = readLogs(dir);
      expect(r.parityRc).toEqual({ default: 0, wgmma: 124 });
      expect(Object.keys(r.extras)).toEqual(['stationary']);
      expect(r.extras.stationary.throughput?.transr.independent.adkg).toBe(7.5e6);
      expect(r.problems).toEqual(['result-chunk.json: no JSON result (the bench did not finish)']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test('staging lines: the hybrid placement under copy and mapped, the speed-up and whether the last losses agree', () => {
    const r: BenchResult = {
      throughput: {
        transe: { 'shared@hybrid': { adkg: 2.82e6, lossLast: 4.0493 }, 'shared@hybrid-mapped': { adkg: 5.64e6, lossLast: 4.04931 } },
        transr: { 'shared@hybrid': { adkg: 2.58e6, lossLast: 4.1 }, 'shared@hybrid-mapped': { adkg: 3e6, lossLast: 4.2 } },
        x: { 'shared@hybrid': { adkg: 1e6 }, 'shared@hybrid-mapped': { error: 'boom' } },
        y: { 'shared@hybrid': { adkg: 1e6 } },
      },
    };
    expect(stagingLines(r)).toEqual([
      'summary staging transe shared@hybrid: copy 2.82M | mapped 5.64M (2.00× copy); last loss 4.0493 / 4.0493 (equal: 2.5e-6)',
      'summary staging transr shared@hybrid: copy 2.58M | mapped 3.00M (1.16× copy); last loss 4.1000 / 4.2000 (DIFFER: 2.4e-2)',
      'summary staging x shared@hybrid: copy 1.00M | mapped FAILED (boom)',
    ]);
    expect(stagingLines(main)).toEqual([]);
  });

  // Shaped as run.ts records them since session 20: each figure with the tile, form and loss reads trainRun reported.
  const knobbed = (tile: string, form: string, loss: string, adkg: number, pytorch?: number) =>
    ({ adkg, ...(pytorch ? { pytorch } : {}), gemmTile: tile, projectedDistance: form, sharedLoss: loss, staging: 'none' });
  const mainK: BenchResult = {
    throughput: {
      transe: { independent: knobbed('none', 'direct', 'none', 16e6, 1.5e6), shared: knobbed('none', 'direct', 'element', 127e6, 19e6) },
      transr: {
        independent: knobbed('element', 'direct', 'none', 3.95e6, 0.73e6),
        shared: knobbed('element', 'direct', 'element', 63e6, 19.8e6),
        'shared@hybrid': { adkg: 2.58e6, lossLast: 4.1 },
        'shared@hybrid-mapped': { adkg: 5e6, lossLast: 4.1000001 },
      },
    },
  };
  const extrasK: Record<string, BenchResult> = {
    stationary: { throughput: { transr: { independent: knobbed('stationary', 'direct', 'none', 6e6), shared: knobbed('stationary', 'direct', 'element', 70e6) } } },
    'gram-stationary': { throughput: { transr: { independent: knobbed('stationary', 'gram', 'none', 7.5e6) } } },
    chunk: { throughput: { transr: { independent: knobbed('chunk', 'direct', 'none', 6.5e6), shared: knobbed('chunk', 'direct', 'element', 66e6) } } },
    vecloss: { throughput: { transe: { shared: knobbed('none', 'direct', 'vector', 140e6) }, transr: { shared: knobbed('element', 'direct', 'vector', 64e6) } } },
  };
  const allPassed = { default: 0, stationary: 0, gram: 0, chunk: 0, vecloss: 0 };

  test('defaults: each configuration decides only the settings this run measured under more than one value', () => {
    const choice = chooseDefaults(summarize(mainK, extrasK, allPassed), mainK);
    // TransR independent: gram-stationary; TransR shared: stationary (its form was never varied, so it does not vote
    // "direct" against gram); TransE shared: vecloss (it has no tile); TransE independent decides nothing; the hybrid
    // pair: mapped, faster with the same loss. TransR shared's element loss reads conflict with TransE's vector ones.
    expect(choice.env).toEqual({ ADKG_CUDA_GEMM_TILE: 'stationary', ADKG_CUDA_PROJECTED_DISTANCE: 'gram', ADKG_CUDA_STAGING: 'mapped' });
    expect(choice.conflicts).toEqual({ ADKG_CUDA_SHARED_LOSS: { element: ['transr shared'], vector: ['transe shared'] } });
    expect(defaultsLines(choice)).toEqual([
      'summary defaults: ADKG_CUDA_GEMM_TILE=stationary ADKG_CUDA_PROJECTED_DISTANCE=gram ADKG_CUDA_STAGING=mapped (without ADKG_CUDA_SHARED_LOSS: in conflict, below)',
      'summary defaults: conflict on ADKG_CUDA_SHARED_LOSS: element (transr shared) | vector (transe shared)',
    ]);
  });

  test('defaults: a setting whose parity failed is not chosen, and a mapped staging whose loss differs loses to copy', () => {
    const differing: BenchResult = JSON.parse(JSON.stringify(mainK));
    differing.throughput!.transr['shared@hybrid-mapped'].lossLast = 4.3;
    const choice = chooseDefaults(summarize(differing, extrasK, { ...allPassed, stationary: 1, vecloss: 124 }), differing);
    // Without stationary (gram-stationary rests on it too), TransR's fastest are chunk with the direct form
    // (independent) and chunk (shared); without vecloss the shared configurations' fastest read elements. The Gram form
    // and the vector reads were measured, so those configurations still decide them: for the values that passed.
    expect(choice.env).toEqual({ ADKG_CUDA_GEMM_TILE: 'chunk', ADKG_CUDA_PROJECTED_DISTANCE: 'direct', ADKG_CUDA_SHARED_LOSS: 'element', ADKG_CUDA_STAGING: 'copy' });
    expect(choice.conflicts).toEqual({});
    expect(envLine(choice)).toBe('ADKG_CUDA_GEMM_TILE=chunk ADKG_CUDA_PROJECTED_DISTANCE=direct ADKG_CUDA_SHARED_LOSS=element ADKG_CUDA_STAGING=copy');
    // A mapped run that copied (its tables below the page-lock floor, as on a small graph) decides no staging.
    const small: BenchResult = JSON.parse(JSON.stringify(mainK));
    small.throughput!.transr['shared@hybrid-mapped'].staging = 'copy';
    expect(chooseDefaults(summarize(small, extrasK, allPassed), small).env).not.toHaveProperty('ADKG_CUDA_STAGING');
    small.throughput!.transr['shared@hybrid-mapped'].staging = 'mixed';
    expect(chooseDefaults(summarize(small, extrasK, allPassed), small).env).toHaveProperty('ADKG_CUDA_STAGING', 'mapped');
  });

  test('the command writes --defaults-out only when the configurations agree, and removes a stale one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adkg-summary-'));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const logs = path.join(dir, 'logs'), result = path.join(dir, 'result.json'), out = path.join(dir, 'defaults.env');
      fs.mkdirSync(logs);
      fs.writeFileSync(result, 'progress\n' + JSON.stringify(mainK) + '\n');
      for (const [name, r] of Object.entries(extrasK)) fs.writeFileSync(path.join(logs, `result-${name}.json`), JSON.stringify(r) + '\n');
      for (const [name, rc] of Object.entries({ ...allPassed, vecloss: 1 })) fs.writeFileSync(path.join(logs, `parity-${name}.rc`), `${rc}\n`);
      expect(summaryMain(['--result', result, '--logs', logs, '--defaults-out', out])).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe('ADKG_CUDA_GEMM_TILE=stationary ADKG_CUDA_PROJECTED_DISTANCE=gram ADKG_CUDA_SHARED_LOSS=element ADKG_CUDA_STAGING=mapped\n');
      const printed = log.mock.calls.map((c) => String(c[0]));
      expect(printed).toContain(`summary defaults: written to ${out} (the issue's bench under them: env $(cat ${out}) bash bench/kge-gpu/run.sh)`);
      // vecloss passing puts TransE's vector reads against TransR's element ones: no file, the old one gone.
      fs.writeFileSync(path.join(logs, 'parity-vecloss.rc'), '0\n');
      expect(summaryMain(['--result', result, '--logs', logs, '--defaults-out', out])).toBe(0);
      expect(fs.existsSync(out)).toBe(false);
      expect(log.mock.calls.map((c) => String(c[0]))).toContain('summary defaults: conflict on ADKG_CUDA_SHARED_LOSS: element (transr shared) | vector (transe shared)');
      expect(summaryMain([])).toBe(2);
    } finally {
      log.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('defaults: results without the reported settings (before session 20) choose nothing', () => {
    const choice = chooseDefaults(summarize(main, extras, { default: 0, stationary: 0, wgmma: 0 }), main);
    expect(choice).toEqual({ env: {}, conflicts: {} });
    expect(defaultsLines(choice)).toEqual(['summary defaults: no setting was measured under more than one value with passed parity']);
  });
});
