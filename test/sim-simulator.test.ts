import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { classifyEvent } from '../src/graph/events';
import { ImpressionRecord } from '../src/common/impression';
import { DEFAULT_SIM_CONFIG, SimConfig, SimManifest, simulate, CORRUPT_KINDS, OVERSIZED_ID_LENGTH, SimConfigError } from '../src/sim';
import { buildWorld } from '../src/sim/world';
import { resolveSimConfig } from '../src/sim/config';
import { buildProgram } from '../src/cli/main';

const tmpRoot = path.join(os.tmpdir(), `adkg-sim-test-${process.pid}`);
let runs = 0;

async function run(config: Partial<SimConfig>): Promise<{ dir: string; manifest: SimManifest }> {
  const dir = path.join(tmpRoot, `run${runs++}`);
  const manifest = await simulate(config, dir);
  return { dir, manifest };
}

function lines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

afterAll(async () => {
  await fs.rm(tmpRoot, { recursive: true, force: true });
});

const SMALL: Partial<SimConfig> = { users: 1500, pins: 300, advertisers: 30, days: 6, seed: 7 };

describe('determinism', () => {
  test('same seed gives the same bytes in every file; another seed differs', async () => {
    const a = await run(SMALL);
    const b = await run(SMALL);
    const c = await run({ ...SMALL, seed: 8 });
    for (const f of ['events.jsonl', 'truth.jsonl', 'corrupt.jsonl', 'manifest.json']) {
      expect(readFileSync(path.join(b.dir, f)).equals(readFileSync(path.join(a.dir, f)))).toBe(true);
    }
    expect(readFileSync(path.join(c.dir, 'events.jsonl')).equals(readFileSync(path.join(a.dir, 'events.jsonl')))).toBe(false);
    expect(readFileSync(path.join(c.dir, 'truth.jsonl')).equals(readFileSync(path.join(a.dir, 'truth.jsonl')))).toBe(false);
  });

  test('corruption adds lines but changes neither the real events nor truth.jsonl', async () => {
    const clean = await run(SMALL);
    const dirty = await run({ ...SMALL, corruptRate: 0.01 });
    expect(readFileSync(path.join(dirty.dir, 'truth.jsonl')).equals(readFileSync(path.join(clean.dir, 'truth.jsonl')))).toBe(true);
    const listed = new Set(lines(path.join(dirty.dir, 'corrupt.jsonl')).map((l) => (JSON.parse(l) as { line: number }).line));
    expect(listed.size).toBeGreaterThan(0);
    const kept = lines(path.join(dirty.dir, 'events.jsonl')).filter((_, i) => !listed.has(i + 1));
    expect(kept.join('\n') + '\n').toBe(readFileSync(path.join(clean.dir, 'events.jsonl'), 'utf8'));
  });
});

describe('events follow the contract and truth agrees with them', () => {
  let dir: string;
  let manifest: SimManifest;
  let events: Record<string, unknown>[];
  let truth: ImpressionRecord[];

  beforeAll(async () => {
    ({ dir, manifest } = await run(SMALL));
    events = lines(path.join(dir, 'events.jsonl')).map((l) => JSON.parse(l) as Record<string, unknown>);
    truth = lines(path.join(dir, 'truth.jsonl')).map((l) => JSON.parse(l) as ImpressionRecord);
  });

  test('every line passes the graph layer\'s validator; catalog first; time order; unique ids; manifest counts', () => {
    const problems: unknown[] = [];
    const check = (ok: boolean, what: unknown) => { if (!ok && problems.length < 5) problems.push(what); };
    let seenEvent = false;
    let lastTs = -Infinity;
    const ids = new Set<string>();
    const counts: Record<string, number> = {};
    for (const e of events) {
      const c = classifyEvent(e);
      check(c.type !== 'rejected' && c.type !== 'no-consent', { e, c });
      if (e.kind === 'pin' || e.kind === 'advertiser') {
        check(!seenEvent, { catalogAfterEvents: e });
        continue;
      }
      seenEvent = true;
      const ts = Date.parse(e.ts as string);
      check(new Date(ts).toISOString() === e.ts, { badTs: e });
      check(ts >= lastTs, { outOfOrder: e });
      lastTs = ts;
      check(!ids.has(e.eventId as string), { duplicate: e });
      ids.add(e.eventId as string);
      if (e.kind === 'offsite') check(e.consent === true, { noConsent: e });
      const key = `${e.kind}.${e.action}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    expect(problems).toEqual([]);
    expect(Date.parse(events.find((e) => e.eventId)!.ts as string)).toBeGreaterThanOrEqual(Date.parse(manifest.start + 'T00:00:00Z'));
    expect(lastTs).toBeLessThan(Date.parse(manifest.end));
    for (const [a, n] of Object.entries(manifest.counts.onsite)) expect(counts[`onsite.${a}`] ?? 0).toBe(n);
    for (const [a, n] of Object.entries(manifest.counts.offsite)) expect(counts[`offsite.${a}`] ?? 0).toBe(n);
    expect(manifest.counts.events).toBe(ids.size);
    expect(manifest.counts.catalog.pin).toBe(SMALL.pins);
  });

  test('one truth line per impression, and click / conversion labels re-derived from the events match', () => {
    const W = manifest.attributionWindowDays * 86_400_000;
    const impressions = events.filter((e) => e.action === 'impression');
    expect(truth.map((t) => t.eventId)).toEqual(impressions.map((e) => e.eventId));
    const problems: unknown[] = [];
    const check = (ok: boolean, what: unknown) => { if (!ok && problems.length < 5) problems.push(what); };
    const derivedClick = new Map<string, number>();
    const derivedConv = new Map<string, number>();
    const lastImpression = new Map<string, string>();
    const clicksByUserPin = new Map<string, { ts: number; id: string }[]>();
    for (const e of events) {
      if (!e.eventId) continue;
      const key = `${e.userId}|${e.pinId}`;
      const ts = Date.parse(e.ts as string);
      if (e.action === 'impression') lastImpression.set(key, e.eventId as string);
      else if (e.action === 'click') {
        const imp = lastImpression.get(key);
        check(imp !== undefined, { clickWithoutImpression: e });
        if (imp === undefined) continue;
        derivedClick.set(imp, (derivedClick.get(imp) ?? 0) + 1);
        const list = clicksByUserPin.get(key) ?? [];
        list.push({ ts, id: imp });
        clicksByUserPin.set(key, list);
      } else if (e.kind === 'offsite' && e.pinId && ['checkout', 'signup', 'lead'].includes(e.action as string)) {
        const list = (clicksByUserPin.get(key) ?? []).filter((c) => c.ts < ts && ts - c.ts <= W);
        check(list.length > 0, { conversionWithoutClick: e }); // every pin-carrying conversion follows a click
        if (list.length > 0) derivedConv.set(list[list.length - 1].id, 1);
      }
    }
    let clicks = 0, conversions = 0;
    for (const t of truth) {
      check(t.click === (derivedClick.has(t.eventId) ? 1 : 0), { clickLabel: t });
      check((derivedClick.get(t.eventId) ?? 0) <= 1, { twoClicks: t });
      check(t.conversion === (derivedConv.get(t.eventId) ?? 0), { conversionLabel: t });
      check(!t.conversion || t.click === 1, { conversionWithoutClick: t });
      check(t.pClick! > 0 && t.pClick! < 1 && t.pConvert! >= 0 && t.pConvert! < 1, { probabilities: t });
      check(typeof t.category === 'string' && typeof t.surface === 'string', { fields: t });
      clicks += t.click;
      conversions += t.conversion;
    }
    expect(problems).toEqual([]);
    expect(clicks).toBeGreaterThan(100);
    expect(conversions).toBeGreaterThan(20);
    expect(manifest.realised.ctr).toBeCloseTo(clicks / truth.length, 10);
    expect(manifest.realised.cvr).toBeCloseTo(conversions / clicks, 10);
    const tsOf = new Map(impressions.map((e) => [e.eventId as string, Date.parse(e.ts as string)]));
    expect(truth.filter((t) => t.ts !== tsOf.get(t.eventId))).toEqual([]);
  });

  test('the oracle is calibrated and informative: realised CTR/CVR match mean pClick/pConvert; oracle AUC well above 0.5', () => {
    const meanP = truth.reduce((s, t) => s + t.pClick!, 0) / truth.length;
    const ctr = manifest.realised.ctr;
    const se = Math.sqrt((meanP * (1 - meanP)) / truth.length);
    expect(Math.abs(ctr - meanP)).toBeLessThan(4 * se);
    const clicked = truth.filter((t) => t.click === 1);
    const meanConv = clicked.reduce((s, t) => s + t.pConvert!, 0) / clicked.length;
    const seConv = Math.sqrt((meanConv * (1 - meanConv)) / clicked.length);
    expect(Math.abs(manifest.realised.cvr - meanConv)).toBeLessThan(4 * seConv + 0.005);
    expect(auc(truth.map((t) => t.pClick!), truth.map((t) => t.click))).toBeGreaterThan(0.65);
    expect(auc(clicked.map((t) => t.pConvert!), clicked.map((t) => t.conversion))).toBeGreaterThan(0.7);
  });

  test('CTR in a realistic range; shares come out as configured; activity is heavy-tailed', () => {
    expect(manifest.realised.ctr).toBeGreaterThan(0.02);
    expect(manifest.realised.ctr).toBeLessThan(0.12);
    expect(manifest.realised.cvrOptIn).toBeGreaterThan(0.03);
    expect(manifest.realised.cvrOptIn).toBeLessThan(0.3);
    const world = buildWorld(resolveSimConfig(SMALL));
    const offsiteUsers = new Set(events.filter((e) => e.kind === 'offsite').map((e) => Number((e.userId as string).slice(1))));
    expect([...offsiteUsers].filter((u) => world.optIn[u] !== 1)).toEqual([]);
    expect(offsiteUsers.size).toBeGreaterThan(0.6 * manifest.realised.optInShare * SMALL.users!);
    expect(Math.abs(manifest.realised.optInShare - DEFAULT_SIM_CONFIG.optInShare)).toBeLessThan(0.04);
    const perUser = new Map<string, number>();
    for (const t of truth) perUser.set(t.userId, (perUser.get(t.userId) ?? 0) + 1);
    const counts = Array.from({ length: SMALL.users! }, (_, u) => perUser.get(`u${u}`) ?? 0).sort((a, b) => a - b);
    const sparse = counts.filter((n) => n <= 3).length / counts.length;
    expect(sparse).toBeCloseTo(manifest.realised.sparseUserShare, 10);
    expect(Math.abs(sparse - DEFAULT_SIM_CONFIG.sparseShare)).toBeLessThan(0.04);
    const median = counts[counts.length >> 1];
    expect(counts[counts.length - 1]).toBeGreaterThan(10 * Math.max(1, median)); // heavy tail
  });

  test('offsite events carry conversion signal the onsite half lacks; interests in the graph predict clicks', () => {
    // Users with organic (no pinId) offsite checkouts/signups/leads in the first half convert more after clicks later.
    const half = Date.parse(manifest.start + 'T00:00:00Z') + (SMALL.days! / 2) * 86_400_000;
    const organicBuyers = new Set(
      events.filter((e) => e.kind === 'offsite' && !e.pinId && ['checkout', 'signup', 'lead'].includes(e.action as string) && Date.parse(e.ts as string) < half).map((e) => e.userId as string),
    );
    const offsiteUsers = new Set(events.filter((e) => e.kind === 'offsite').map((e) => e.userId as string));
    const late = truth.filter((t) => t.ts >= half && t.click === 1 && offsiteUsers.has(t.userId));
    const rate = (xs: ImpressionRecord[]) => xs.reduce((s, t) => s + t.conversion, 0) / Math.max(1, xs.length);
    const buyers = late.filter((t) => organicBuyers.has(t.userId));
    const others = late.filter((t) => !organicBuyers.has(t.userId));
    expect(buyers.length).toBeGreaterThan(50);
    expect(rate(buyers)).toBeGreaterThan(1.3 * rate(others));
    // The category a user clicked most in the first half: later impressions in it are clicked more often.
    const clicksByCat = new Map<string, Map<string, number>>();
    for (const t of truth) {
      if (t.ts >= half || !t.click) continue;
      const m = clicksByCat.get(t.userId) ?? new Map<string, number>();
      m.set(t.category!, (m.get(t.category!) ?? 0) + 1);
      clicksByCat.set(t.userId, m);
    }
    const top = new Map<string, string>();
    for (const [u, m] of clicksByCat) top.set(u, [...m.entries()].sort((a, b) => b[1] - a[1])[0][0]);
    const lateImps = truth.filter((t) => t.ts >= half && top.has(t.userId));
    const inTop = lateImps.filter((t) => t.category === top.get(t.userId));
    const notTop = lateImps.filter((t) => t.category !== top.get(t.userId));
    const ctr = (xs: ImpressionRecord[]) => xs.reduce((s, t) => s + t.click, 0) / Math.max(1, xs.length);
    expect(ctr(inTop)).toBeGreaterThan(1.5 * ctr(notTop));
  });
});

describe('configured shares follow the configuration', () => {
  test('opt-in 0.3 and sparse 0.7 come out as configured', async () => {
    const { dir, manifest } = await run({ users: 3000, pins: 200, advertisers: 20, days: 4, seed: 3, optInShare: 0.3, sparseShare: 0.7, impressionsPerUser: 40 });
    expect(Math.abs(manifest.realised.optInShare - 0.3)).toBeLessThan(0.03);
    expect(Math.abs(manifest.realised.sparseUserShare - 0.7)).toBeLessThan(0.03);
    const offsiteUsers = new Set(lines(path.join(dir, 'events.jsonl')).filter((l) => l.includes('"kind":"offsite"')).map((l) => (JSON.parse(l) as { userId: string }).userId));
    expect(offsiteUsers.size).toBeLessThanOrEqual(Math.round(manifest.realised.optInShare * 3000));
  });

  test('opt-in 0 gives no offsite events and no conversions', async () => {
    const { manifest } = await run({ users: 300, pins: 50, advertisers: 10, days: 3, optInShare: 0 });
    expect(Object.values(manifest.counts.offsite).reduce((s, n) => s + n, 0)).toBe(0);
    expect(manifest.realised.cvr).toBe(0);
  });

  test('a write failure rejects instead of crashing', async () => {
    const dir = path.join(tmpRoot, 'unwritable');
    await fs.mkdir(path.join(dir, 'events.jsonl'), { recursive: true });
    await expect(simulate({ users: 50, pins: 10, advertisers: 3, days: 2 }, dir)).rejects.toThrow(/EISDIR/);
  });

  test('bad parameters are rejected naming the parameter', async () => {
    await expect(simulate({ users: 0 }, path.join(tmpRoot, 'bad'))).rejects.toThrow(/users must be an integer/);
    await expect(simulate({ optInShare: 1.5 }, path.join(tmpRoot, 'bad'))).rejects.toThrow(SimConfigError);
    await expect(simulate({ start: '2026-1-1' }, path.join(tmpRoot, 'bad'))).rejects.toThrow(/start must be an ISO date/);
  });
});

describe('--corrupt-rate', () => {
  test('each kind is injected at about the rate, every corrupt line is listed and really corrupt, nothing else is', async () => {
    const rate = 0.02;
    const { dir, manifest } = await run({ ...SMALL, users: 600, days: 4, corruptRate: rate });
    const all = lines(path.join(dir, 'events.jsonl'));
    const listed = lines(path.join(dir, 'corrupt.jsonl')).map((l) => JSON.parse(l) as { line: number; kind: string });
    const byLine = new Map(listed.map((c) => [c.line, c.kind]));
    expect(byLine.size).toBe(listed.length);
    expect(listed.length).toBe(manifest.counts.corrupt.total);
    expect(all.length).toBe(manifest.counts.lines);
    const realEvents = manifest.counts.events;
    expect(Math.abs(listed.length - rate * realEvents)).toBeLessThan(5 * Math.sqrt(rate * realEvents));
    for (const k of CORRUPT_KINDS) {
      expect(manifest.counts.corrupt[k]).toBeGreaterThan(0);
      expect(listed.filter((c) => c.kind === k).length).toBe(manifest.counts.corrupt[k]);
    }
    const seen = new Set<string>();
    const problems: unknown[] = [];
    const check = (ok: boolean, what: unknown) => { if (!ok && problems.length < 5) problems.push(what); };
    const seenKinds = new Set<string>();
    all.forEach((text, i) => {
      const kind = byLine.get(i + 1);
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = undefined;
      }
      if (kind === undefined) {
        check(parsed !== undefined, { unlistedMalformed: i + 1 });
        if (!parsed) return;
        check(['interaction', 'pin', 'advertiser'].includes(classifyEvent(parsed).type), { unlistedInvalid: i + 1, text });
        if (parsed.eventId) {
          check(!seen.has(parsed.eventId as string), { unlistedDuplicate: i + 1 });
          seen.add(parsed.eventId as string);
        }
        return;
      }
      seenKinds.add(kind);
      const c = parsed ? classifyEvent(parsed) : undefined;
      switch (kind) {
        case 'malformed_json':
          check(parsed === undefined, { notMalformed: i + 1 });
          break;
        case 'duplicate_event_id':
          check(parsed !== undefined && seen.has(parsed.eventId as string), { notDuplicate: i + 1 });
          break;
        case 'missing_consent':
          check(parsed?.kind === 'offsite' && parsed.consent !== true && c?.type === 'no-consent', { hasConsent: i + 1 });
          break;
        case 'bad_timestamp':
          check(Number.isNaN(Date.parse(parsed?.ts as string)) && c?.type === 'rejected' && c.field === 'ts', { goodTs: i + 1, c });
          break;
        case 'oversized_field':
          check((parsed?.userId as string).length === OVERSIZED_ID_LENGTH && c?.type === 'rejected' && c.field === 'userId', { notOversized: i + 1, c });
          break;
        default:
          check(false, { unknownKind: kind });
      }
    });
    expect(problems).toEqual([]);
    expect([...seenKinds].sort()).toEqual([...CORRUPT_KINDS].sort());
  });
});

describe('adkg simulate (CLI)', () => {
  test('writes the files and the manifest records every parameter', async () => {
    const out = path.join(tmpRoot, 'cli');
    await buildProgram().parseAsync(['node', 'adkg', 'simulate', '--out', out, '--users', '200', '--pins', '40', '--advertisers', '8', '--days', '3', '--seed', '11', '--opt-in-share', '0.5', '--corrupt-rate', '0.01', '--quiet']);
    const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as SimManifest;
    expect(m.config).toMatchObject({ users: 200, pins: 40, advertisers: 8, days: 3, seed: 11, optInShare: 0.5, corruptRate: 0.01 });
    expect(m).toMatchObject({ seed: 11, days: 3, start: '2026-01-01', optInShare: 0.5, attributionWindowDays: 1 });
    expect(lines(path.join(out, 'truth.jsonl')).length).toBe(m.counts.truth);
    const help = buildProgram().commands.find((c) => c.name() === 'simulate')!.helpInformation();
    expect(help).toMatch(/--users <n>.*\(default: 2000\)/);
    expect(help).toMatch(/--corrupt-rate/);
  });
});

function auc(scores: number[], labels: number[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0, pos = 0;
  for (let k = 0; k < idx.length; ) {
    let j = k;
    while (j < idx.length && scores[idx[j]] === scores[idx[k]]) j++;
    const avgRank = (k + j + 1) / 2;
    for (let m = k; m < j; m++) if (labels[idx[m]]) { rankSum += avgRank; pos++; }
    k = j;
  }
  const neg = labels.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
