import { readFileSync } from 'fs';
import * as path from 'path';
import { classifyEvent, classifyWithSchema, MAX_ID_LENGTH, parseTimestamp, syntheticEventLines } from '../src/graph';

const onsite = { eventId: 'e1', ts: '2026-01-01T10:00:00Z', kind: 'onsite', userId: 'u1', pinId: 'p1', action: 'click' };
const offsite = { eventId: 'e2', ts: 1767261600000, kind: 'offsite', userId: 'u1', advertiserId: 'a1', action: 'checkout', productId: 'sku', value: 10.5, currency: 'EUR', consent: true };

function rejected(raw: unknown): { field: string; reason: string } {
  const c = classifyEvent(raw);
  if (c.type !== 'rejected') throw new Error(`expected a reject, got ${JSON.stringify(c)}`);
  return c;
}

describe('event contract', () => {
  test('a valid onsite event becomes an interaction with its relation and epoch-ms time', () => {
    const c = classifyEvent({ ...onsite, advertiserId: 'a1', surface: 'search', extra: 'ignored' });
    expect(c).toEqual({
      type: 'interaction',
      event: { kind: 'onsite', eventId: 'e1', ts: Date.UTC(2026, 0, 1, 10), userId: 'u1', relation: 'CLICKED', pinId: 'p1', advertiserId: 'a1', surface: 'search' },
    });
  });

  test.each([
    ['impression', 'IMPRESSED'],
    ['save', 'SAVED'],
    ['closeup', 'CLOSEUP'],
    ['hide', 'HID'],
  ])('onsite action %s maps to %s', (action, relation) => {
    const c = classifyEvent({ ...onsite, action });
    expect(c.type === 'interaction' && c.event.relation).toBe(relation);
  });

  test('a consented offsite event keeps product, value and currency', () => {
    const c = classifyEvent(offsite);
    expect(c).toEqual({
      type: 'interaction',
      event: { kind: 'offsite', eventId: 'e2', ts: 1767261600000, userId: 'u1', relation: 'CHECKOUT', advertiserId: 'a1', productId: 'sku', value: 10.5, currency: 'EUR' },
    });
  });

  test('an offsite event without consent: true is dropped, not rejected', () => {
    expect(classifyEvent({ ...offsite, consent: false })).toEqual({ type: 'no-consent' });
    const { consent: _omit, ...noConsent } = offsite;
    expect(classifyEvent(noConsent)).toEqual({ type: 'no-consent' });
  });

  test('consent that is not a boolean is a reject naming the field', () => {
    expect(rejected({ ...offsite, consent: 'yes' }).field).toBe('consent');
  });

  test('catalog records', () => {
    expect(classifyEvent({ kind: 'pin', pinId: 'p1', advertiserId: 'a1', category: 'c' })).toEqual({ type: 'pin', pin: { pinId: 'p1', advertiserId: 'a1', category: 'c' } });
    expect(classifyEvent({ kind: 'advertiser', advertiserId: 'a1' })).toEqual({ type: 'advertiser', advertiser: { advertiserId: 'a1' } });
  });

  test.each([
    ['missing pinId', { ...onsite, pinId: undefined }, 'pinId'],
    ['unknown action', { ...onsite, action: 'purchase' }, 'action'],
    ['unknown kind', { ...onsite, kind: 'email' }, 'kind'],
    ['ts without a zone', { ...onsite, ts: '2026-01-01T10:00:00' }, 'ts'],
    ['ts not a date', { ...onsite, ts: 'yesterday' }, 'ts'],
    ['ts negative', { ...onsite, ts: -5 }, 'ts'],
    ['ts fractional ms', { ...onsite, ts: 1.5 }, 'ts'],
    ['ts missing', { ...onsite, ts: undefined }, 'ts'],
    ['empty userId', { ...onsite, userId: '  ' }, 'userId'],
    ['userId too long', { ...onsite, userId: 'u'.repeat(MAX_ID_LENGTH + 1) }, 'userId'],
    ['userId with a control character', { ...onsite, userId: 'u\u0001x' }, 'userId'],
    ['numeric eventId', { ...onsite, eventId: 42 }, 'eventId'],
    ['value not a number', { ...offsite, value: '10' }, 'value'],
    ['currency not ISO 4217', { ...offsite, currency: 'euro' }, 'currency'],
  ])('rejects %s, naming the field', (_name, raw, field) => {
    const r = rejected(raw);
    expect(r.field).toBe(field);
    expect(r.reason.length).toBeGreaterThan(3);
  });

  test('an id of exactly the maximum length is accepted', () => {
    expect(classifyEvent({ ...onsite, userId: 'u'.repeat(MAX_ID_LENGTH) }).type).toBe('interaction');
  });

  test('non-objects are rejected as a whole record', () => {
    for (const raw of [null, 5, 'text', [onsite]]) expect(rejected(raw).field).toBe('(record)');
  });

  test('timestamps: ISO with zone or offset, epoch ms, and digit strings all give the same instant', () => {
    const ms = Date.UTC(2026, 2, 1, 12, 30, 15, 250);
    expect(parseTimestamp('2026-03-01T12:30:15.250Z')).toBe(ms);
    expect(parseTimestamp('2026-03-01T14:30:15.250+02:00')).toBe(ms);
    expect(parseTimestamp(ms)).toBe(ms);
    expect(parseTimestamp(String(ms))).toBe(ms);
    expect(parseTimestamp('2026-03-01')).toBe(Date.UTC(2026, 2, 1));
    expect(typeof parseTimestamp('2026-13-45T00:00:00Z')).toBe('string');
  });
});

describe('fast path', () => {
  // classifyEvent skips zod for plainly valid records; it must agree with the schema on every input.
  const odd: unknown[] = [undefined, null, '', ' ', 'x', 'u\u0000', 'ü'.repeat(MAX_ID_LENGTH), 'ü'.repeat(MAX_ID_LENGTH + 1), 0, -1, 1.5, 1767261600000, '1767261600000',
    '2026-01-01', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00', true, false, 'true', [], {}, 'USD', 'usd', 'click', 'checkout', 'toString', 'constructor', Infinity, NaN];
  const fields = ['kind', 'eventId', 'ts', 'userId', 'pinId', 'advertiserId', 'action', 'surface', 'productId', 'value', 'currency', 'consent'];

  test('agrees with the zod schema on the fixture, synthetic events and single-field mutations of them', () => {
    const bases: Record<string, unknown>[] = [
      ...readFileSync(path.join(__dirname, 'fixtures', 'graph', 'events.jsonl'), 'utf8').split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      }),
      ...[...syntheticEventLines({ events: 150, seed: 4 })].map((l) => JSON.parse(l)),
      onsite,
      offsite,
    ];
    let compared = 0;
    for (const base of bases) {
      const variants: unknown[] = [base];
      for (const f of fields) for (const v of odd) variants.push({ ...base, [f]: v });
      for (const v of variants) {
        const fast = classifyEvent(v);
        const schema = classifyWithSchema(v);
        if (JSON.stringify(fast) !== JSON.stringify(schema)) expect({ v, c: fast }).toEqual({ v, c: schema });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(50000);
  });
});
