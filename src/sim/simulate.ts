/**
 * `simulate`: builds the world, plays it day by day and streams events.jsonl (catalog first, then
 * events in time order), truth.jsonl (one ImpressionRecord per impression, with true probabilities),
 * corrupt.jsonl and manifest.json. Memory is O(users + pins + one day's events).
 */
import { createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
import { assertOutputFolder } from '../common/output-folder';
import { ACTIONS, A_IMPRESSION, FIRST_OFFSITE, MS_PER_DAY, SURFACES } from './event-buffer';
import { ATTRIBUTION_RULE, ATTRIBUTION_WINDOW_DAYS, P_CONVERT_MEANING, SimConfig, resolveSimConfig } from './config';
import { CorruptKind, CorruptionInjector } from './corruption';
import { DaySimulator } from './day-simulator';
import { ByteSink, latin1 } from './byte-sink';
import { isoDayPrefix, isoTime } from './format';
import { allocTruthBatch, openTruthWriter } from './truth-writer';
import { STREAM, VERTICALS, buildWorld, streamRandom } from './world';

export const SIM_FILES = { events: 'events.jsonl', truth: 'truth.jsonl', corrupt: 'corrupt.jsonl', manifest: 'manifest.json' } as const;

export interface SimManifest {
  format: 'adkg.simulation';
  version: 1;
  config: SimConfig;
  seed: number;
  days: number;
  /** ISO date of day 0 (UTC). */
  start: string;
  /** ISO timestamp of the end of the last day (exclusive). */
  end: string;
  optInShare: number;
  attributionWindowDays: number;
  attributionRule: string;
  clickRule: string;
  pConvertMeaning: string;
  files: typeof SIM_FILES;
  counts: {
    lines: number;
    catalog: { advertiser: number; pin: number };
    onsite: Record<string, number>;
    offsite: Record<string, number>;
    events: number;
    truth: number;
    corrupt: Record<CorruptKind, number> & { total: number };
  };
  realised: {
    ctr: number;
    /** Attributed conversions per click (all users). */
    cvr: number;
    /** Attributed conversions per click of opt-in users. */
    cvrOptIn: number;
    optInShare: number;
    /** Users with ≤ 3 impressions over the run, of all users. */
    sparseUserShare: number;
    /** Users with 0 impressions (possible only when budgets are capped). */
    usersWithoutImpressions: number;
    usersWithOffsiteEvents: number;
    meanOracleClickProbability: number;
  };
  world: { verticals: string[]; categories: number; freshPins: number };
}

export interface SimulateOptions {
  /** Called after each day is written. */
  onDay?: (day: number, days: number, eventsSoFar: number) => void;
}

export async function simulate(partial: Partial<SimConfig>, outDir: string, opts: SimulateOptions = {}): Promise<SimManifest> {
  const config = resolveSimConfig(partial);
  await assertOutputFolder(outDir, 'adkg.simulation'); // a TripleSet or an export there would lose its manifest
  const world = buildWorld(config);
  await fs.mkdir(outDir, { recursive: true });
  const open = (f: string) => createWriteStream(path.join(outDir, f), { highWaterMark: 8 << 20 });
  const events = new ByteSink(open(SIM_FILES.events));
  const truth = openTruthWriter(path.join(outDir, SIM_FILES.truth), { users: config.users, pinAdvertiser: world.pinAdvertiser, pinCategory: world.pinCategory });
  const corrupt = new ByteSink(open(SIM_FILES.corrupt), 1 << 20);

  const advIds = Array.from({ length: config.advertisers }, (_, i) => 'a' + i);
  const catIds = Array.from({ length: config.categories }, (_, i) => 'c' + i);
  // Pieces of JSON written on every line, as bytes.
  const pinAdv = Array.from({ length: config.pins }, (_, p) => '","pinId":"p' + p + '","advertiserId":"' + advIds[world.pinAdvertiser[p]]);
  const pinAdvBytes = pinAdv.map(latin1);
  const onsiteTail = ACTIONS.map((a) => SURFACES.map((sf) => latin1('","action":"' + a + '","surface":"' + sf + '"}\n')));
  const offsiteAction = ACTIONS.map((a) => latin1('","action":"' + a + '"'));
  // Per-user fragments save a copy and a number per line; ~40 bytes a user.
  const onsiteUser = Array.from({ length: config.users }, (_, u) => latin1('","kind":"onsite","userId":"u' + u));
  const B = {
    eventOpen: latin1('{"eventId":"e'),
    offsiteUser: latin1('","kind":"offsite","userId":"u'),
    advertiser: latin1('","advertiserId":"a'),
    product: latin1(',"productId":"prod'),
    pin: latin1(',"pinId":"p'),
    value: latin1(',"value":'),
    currency: latin1(',"currency":"USD"'),
    consentEnd: latin1(',"consent":true}\n'),
  };
  const QUOTE = 34;

  // Counters live outside the try so the manifest can use them.
  let lineNo = 0, seq = 0, clicks = 0, conversions = 0, optInClicks = 0, optInConversions = 0, pClickSum = 0;
  const catalogCounts = { advertiser: 0, pin: 0 };
  const injector = new CorruptionInjector(config.corruptRate, streamRandom(config.seed, STREAM.corrupt));
  const actionCounts = new Float64Array(ACTIONS.length);
  const impressionsPerUser = new Int32Array(config.users);
  const hasOffsite = new Uint8Array(config.users);
  const startMs = Date.parse(config.start + 'T00:00:00Z');
  try {
    for (let a = 0; a < config.advertisers; a++) {
      events.ascii('{"kind":"advertiser","advertiserId":"' + advIds[a] + '","vertical":"' + VERTICALS[world.advVertical[a]].name + '"}\n');
      if (events.full) await events.flush();
      lineNo++;
      catalogCounts.advertiser++;
    }
    for (let p = 0; p < config.pins; p++) {
      events.ascii('{"kind":"pin","pinId":"p' + p + '","advertiserId":"' + advIds[world.pinAdvertiser[p]] + '","category":"' + catIds[world.pinCategory[p]] + '"}\n');
      if (events.full) await events.flush();
      lineNo++;
      catalogCounts.pin++;
    }

    const sim = new DaySimulator(world);

    for (let day = 0; day < config.days; day++) {
      sim.simulate(day);
      const ev = sim.events, tr = sim.truth;
      const order = ev.sortedOrder();
      const dayStart = startMs + day * MS_PER_DAY;
      const prefix = isoDayPrefix(dayStart);
      const tsPrefix = latin1('","ts":"' + prefix);
      const batch = allocTruthBatch(tr.length);
      for (let j = 0; j < order.length; j++) {
        const i = order[j];
        const action = ev.action[i], u = ev.user[i], p = ev.pin[i], ms = ev.msInDay[i];
        const eventSeq = seq++;
        const lineStart = events.pos;
        events.bytes(B.eventOpen);
        events.uint(eventSeq);
        events.bytes(tsPrefix);
        events.timeOfDay(ms);
        if (action < FIRST_OFFSITE) {
          events.bytes(onsiteUser[u]);
          events.bytes(pinAdvBytes[p]);
          events.bytes(onsiteTail[action][ev.surface[i]]);
          if (action === A_IMPRESSION) {
            const ti = ev.truth[i];
            const c = tr.click[ti], v = tr.conversions[ti] > 0 ? 1 : 0;
            impressionsPerUser[u]++;
            pClickSum += tr.pClick[ti];
            if (c) {
              clicks++;
              conversions += v;
              if (world.optIn[u]) { optInClicks++; optInConversions += v; }
            }
            const k = batch.length++;
            batch.eventSeq[k] = eventSeq;
            batch.tsMs[k] = dayStart + ms;
            batch.user[k] = u;
            batch.pin[k] = p;
            batch.surface[k] = ev.surface[i];
            batch.click[k] = c;
            batch.conversion[k] = v;
            batch.pClickMicros[k] = Math.round(tr.pClick[ti] * 1e6);
            batch.pConvertMicros[k] = Math.round(tr.pConvert[ti] * 1e6);
          }
        } else {
          hasOffsite[u] = 1;
          const prod = ev.product[i], cents = ev.valueCents[i];
          events.bytes(B.offsiteUser);
          events.uint(u);
          events.bytes(B.advertiser);
          events.uint(ev.advertiser[i]);
          events.bytes(offsiteAction[action]);
          if (prod >= 0) { events.bytes(B.product); events.uint(prod); events.byte(QUOTE); }
          if (p >= 0) { events.bytes(B.pin); events.uint(p); events.byte(QUOTE); }
          if (cents > 0) { events.bytes(B.value); events.cents(cents); events.bytes(B.currency); }
          events.bytes(B.consentEnd);
        }
        actionCounts[action]++;
        lineNo++;
        if (injector.roll()) {
          const eventId = 'e' + eventSeq;
          const c = injector.make({
            line: events.textSince(lineStart), eventId, ts: isoTime(prefix, ms), userId: 'u' + u,
            advertiserId: advIds[ev.advertiser[i]], pinId: p >= 0 ? 'p' + p : null,
          });
          events.ascii(c.line + '\n');
          lineNo++;
          corrupt.ascii('{"line":' + lineNo + ',"kind":"' + c.kind + '","afterEventId":"' + eventId + '"}\n');
          if (corrupt.full) await corrupt.flush();
        }
        if (events.full) await events.flush();
      }
      await truth.write(batch);
      opts.onDay?.(day, config.days, seq);
    }
    await Promise.all([events.end(), truth.close(), corrupt.end()]);
  } catch (e) {
    await truth.abort();
    throw e;
  }

  const onsite: Record<string, number> = {}, offsite: Record<string, number> = {};
  ACTIONS.forEach((a, k) => ((k < FIRST_OFFSITE ? onsite : offsite)[a] = actionCounts[k]));
  let sparseUsers = 0, noImpr = 0, optIn = 0, withOffsite = 0;
  for (let u = 0; u < config.users; u++) {
    if (impressionsPerUser[u] <= 3) sparseUsers++;
    if (impressionsPerUser[u] === 0) noImpr++;
    optIn += world.optIn[u];
    withOffsite += hasOffsite[u];
  }
  const impressions = actionCounts[A_IMPRESSION];
  const corruptCounts = { ...injector.counts, total: injector.total };
  const manifest: SimManifest = {
    format: 'adkg.simulation',
    version: 1,
    config,
    seed: config.seed,
    days: config.days,
    start: config.start,
    end: new Date(startMs + config.days * MS_PER_DAY).toISOString(),
    optInShare: config.optInShare,
    attributionWindowDays: ATTRIBUTION_WINDOW_DAYS,
    attributionRule: ATTRIBUTION_RULE,
    clickRule: "A click, save, closeup or hide belongs to the same user's latest impression of that pin before it (it always comes before the user's next impression).",
    pConvertMeaning: P_CONVERT_MEANING,
    files: SIM_FILES,
    counts: {
      lines: lineNo,
      catalog: catalogCounts,
      onsite,
      offsite,
      events: seq,
      truth: impressions,
      corrupt: corruptCounts,
    },
    realised: {
      ctr: impressions > 0 ? clicks / impressions : 0,
      cvr: clicks > 0 ? conversions / clicks : 0,
      cvrOptIn: optInClicks > 0 ? optInConversions / optInClicks : 0,
      optInShare: optIn / config.users,
      sparseUserShare: sparseUsers / config.users,
      usersWithoutImpressions: noImpr,
      usersWithOffsiteEvents: withOffsite,
      meanOracleClickProbability: impressions > 0 ? pClickSum / impressions : 0,
    },
    world: {
      verticals: VERTICALS.map((v) => v.name),
      categories: config.categories,
      freshPins: world.pinLaunchDay.reduce((s, d) => s + (d > 0 ? 1 : 0), 0),
    },
  };
  await fs.writeFile(path.join(outDir, SIM_FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
