import { OptionError, RunAucs, formatRunLine, formatSummary, gapShare, meanSd, parseSeedList, parseVariantList, runShares, summarizeRuns } from '../bench/rank-summary';

const LADDER = ['ids', 'kge-frozen', 'lid-init', 'attention'] as const;

describe('seed lists', () => {
  test('single seeds, ranges and mixes, in the order given', () => {
    expect(parseSeedList('--world-seeds', '1')).toEqual([1]);
    expect(parseSeedList('--world-seeds', '1-7')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(parseSeedList('--world-seeds', '1,3,5')).toEqual([1, 3, 5]);
    expect(parseSeedList('--world-seeds', ' 9, 2-4 ,0')).toEqual([9, 2, 3, 4, 0]);
    expect(parseSeedList('--world-seeds', '4-4')).toEqual([4]);
    expect(parseSeedList('--world-seeds', '4294967295')).toEqual([0xffffffff]);
  });

  test.each([
    ['3-1', /range 3-1 runs backwards/],
    ['a', /"a" is neither a seed/],
    ['', /--world-seeds is empty/],
    ['  ', /--world-seeds is empty/],
    ['1,,2', /item 2 is empty/],
    ['1,', /item 2 is empty/],
    ['-1', /"-1" is neither/],
    ['1.5', /"1.5" is neither/],
    ['1-3,2', /seed 2 is listed twice/],
    ['4294967296', /not in \[0, 2\^32\)/],
    ['1-100000', /more than 10000 seeds/],
  ])('rejects %j, naming the option', (text, why) => {
    expect(() => parseSeedList('--world-seeds', text)).toThrow(OptionError);
    expect(() => parseSeedList('--world-seeds', text)).toThrow(why);
    expect(() => parseSeedList('--world-seeds', text)).toThrow(/--world-seeds/);
  });
});

describe('variant lists', () => {
  test('a subset comes back in ladder order, with ids added when missing', () => {
    expect(parseVariantList('--variants', 'attention,ids', LADDER, 'ids')).toEqual({ variants: ['ids', 'attention'], added: false });
    expect(parseVariantList('--variants', 'attention, kge-frozen', LADDER, 'ids')).toEqual({ variants: ['ids', 'kge-frozen', 'attention'], added: true });
    expect(parseVariantList('--variants', 'ids', LADDER, 'ids')).toEqual({ variants: ['ids'], added: false });
  });

  test('unknown, repeated or empty entries are errors', () => {
    expect(() => parseVariantList('--variants', 'attn', LADDER, 'ids')).toThrow(/unknown variant "attn" \(known: ids,kge-frozen,lid-init,attention\)/);
    expect(() => parseVariantList('--variants', 'ids,ids', LADDER, 'ids')).toThrow(/listed twice/);
    expect(() => parseVariantList('--variants', '', LADDER, 'ids')).toThrow(OptionError);
    expect(() => parseVariantList('--variants', 'ids,', LADDER, 'ids')).toThrow(/item 2 is empty/);
  });
});

describe('share of the ids→oracle gap', () => {
  test('(auc − ids)/(oracle − ids) in %, negative when below ids', () => {
    expect(gapShare(0.75, 0.7, 0.8)).toBeCloseTo(50, 10);
    expect(gapShare(0.8, 0.7, 0.8)).toBeCloseTo(100, 10);
    expect(gapShare(0.68, 0.7, 0.8)).toBeCloseTo(-20, 10);
  });

  test('null without a gap or with a missing AUC', () => {
    expect(gapShare(0.75, 0.8, 0.8)).toBeNull();
    expect(gapShare(0.75, 0.82, 0.8)).toBeNull();
    expect(gapShare(null, 0.7, 0.8)).toBeNull();
    expect(gapShare(0.75, null, 0.8)).toBeNull();
    expect(gapShare(0.75, 0.7, null)).toBeNull();
  });

  test('per run, for every variant but ids', () => {
    const run: RunAucs = {
      variants: [
        { variant: 'ids', ctr: 0.7, cvr: 0.8 },
        { variant: 'attention', ctr: 0.74, cvr: 0.83 },
      ],
      oracle: { ctr: 0.8, cvr: 0.9 },
    };
    const s = runShares(run);
    expect(Object.keys(s)).toEqual(['attention']);
    expect(s.attention.ctr).toBeCloseTo(40, 10);
    expect(s.attention.cvr).toBeCloseTo(30, 10);
    expect(runShares({ ...run, oracle: null }).attention).toEqual({ ctr: null, cvr: null });
  });
});

describe('summary over runs', () => {
  test('mean and sample sd', () => {
    expect(meanSd([])).toEqual({ mean: null, sd: null });
    expect(meanSd([3])).toEqual({ mean: 3, sd: null });
    const m = meanSd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(m.mean).toBeCloseTo(5, 12);
    expect(m.sd).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  // Gaps 0.1, 0.2 and 0.05 (no share in the third: the oracle does not beat ids on CVR there).
  const runs: RunAucs[] = [
    { variants: [{ variant: 'ids', ctr: 0.7, cvr: 0.8 }, { variant: 'kge-frozen', ctr: 0.75, cvr: 0.81 }, { variant: 'attention', ctr: 0.76, cvr: 0.85 }], oracle: { ctr: 0.8, cvr: 0.9 } },
    { variants: [{ variant: 'ids', ctr: 0.6, cvr: 0.7 }, { variant: 'kge-frozen', ctr: 0.62, cvr: 0.69 }, { variant: 'attention', ctr: 0.7, cvr: 0.75 }], oracle: { ctr: 0.8, cvr: 0.9 } },
    { variants: [{ variant: 'ids', ctr: 0.75, cvr: 0.9 }, { variant: 'kge-frozen', ctr: 0.76, cvr: 0.91 }, { variant: 'attention', ctr: 0.77, cvr: 0.92 }], oracle: { ctr: 0.8, cvr: 0.88 } },
  ];

  test('shares: mean ± sd, min and the pooled Σ gain / Σ gap, which weighs big gaps more', () => {
    const [kge, att] = summarizeRuns(runs);
    expect(kge.variant).toBe('kge-frozen');
    expect(att.variant).toBe('attention');
    // attention CTR shares: 60, 50, 40 → mean 50, sd 10; pooled (0.06 + 0.1 + 0.02) / (0.1 + 0.2 + 0.05) = 51.43 %.
    expect(att.ctr.runs).toBe(3);
    expect(att.ctr.shareMean).toBeCloseTo(50, 8);
    expect(att.ctr.shareSd).toBeCloseTo(10, 8);
    expect(att.ctr.shareMin).toBeCloseTo(40, 8);
    expect(att.ctr.pooledShare).toBeCloseTo((100 * 0.18) / 0.35, 8);
    expect(att.ctr.gainMean).toBeCloseTo(0.06, 10);
    expect(att.ctr.gainSd).toBeCloseTo(0.04, 10);
    // CVR: run 3 has no gap, so two shares (50, 25) but three gains (0.05, 0.05, 0.02).
    expect(att.cvr.runs).toBe(2);
    expect(att.cvr.shareMean).toBeCloseTo(37.5, 8);
    expect(att.cvr.shareMin).toBeCloseTo(25, 8);
    expect(att.cvr.pooledShare).toBeCloseTo((100 * 0.1) / 0.3, 8);
    expect(att.cvr.gainMean).toBeCloseTo(0.04, 10);
    // kge-frozen CVR: 10 % and −5 %; the minimum is the negative one.
    expect(kge.cvr.shareMin).toBeCloseTo(-5, 8);
    expect(kge.cvr.shareMean).toBeCloseTo(2.5, 8);
  });

  test('a run without a variant or an AUC leaves that run out of it', () => {
    const partial: RunAucs[] = [runs[0], { variants: [{ variant: 'ids', ctr: 0.6, cvr: null }, { variant: 'attention', ctr: 0.7, cvr: 0.75 }], oracle: { ctr: 0.8, cvr: 0.9 } }];
    const [kge, att] = summarizeRuns(partial);
    expect(kge.ctr.runs).toBe(1);
    expect(kge.ctr.shareSd).toBeNull();
    expect(att.ctr.runs).toBe(2);
    expect(att.cvr.runs).toBe(1);
    expect(att.cvr.gainMean).toBeCloseTo(0.05, 10);
  });

  test('no runs, no variants', () => {
    expect(summarizeRuns([])).toEqual([]);
  });

  test('the run line and the summary table show the figures', () => {
    const line = formatRunLine('world 1 model seed 2', runs[0]);
    expect(line).toBe(
      'world 1 model seed 2  CTR ids 0.7000 kge-frozen 0.7500 (50.0%) attention 0.7600 (60.0%) oracle 0.8000 | ' +
        'CVR ids 0.8000 kge-frozen 0.8100 (10.0%) attention 0.8500 (50.0%) oracle 0.9000',
    );
    expect(formatRunLine('w3', runs[2])).toContain('CVR ids 0.9000 kge-frozen 0.9100 (—)');
    const table = formatSummary(summarizeRuns(runs), runs.length).split('\n');
    expect(table[0]).toMatch(/^summary over 3 run\(s\)/);
    expect(table).toHaveLength(3 + 4);
    const attCtr = table.find((l) => l.startsWith('attention') && l.includes('CTR'))!;
    expect(attCtr).toMatch(/attention\s+CTR\s+3\s+50\.0% ± 10\.0%\s+40\.0%\s+51\.4%\s+\+0\.0600 ± 0\.0400/);
  });
});
