/**
 * The event contract (DESIGN §2), validated with zod. `classifyEvent` turns one parsed input record
 * into what the ingester does with it: store an interaction, upsert catalog structure, drop it for
 * missing consent, or reject it with the field and the reason.
 */
import { z } from 'zod';
import {
  InteractionRelation,
  OFFSITE_ACTIONS,
  OFFSITE_RELATION_OF,
  ONSITE_ACTIONS,
  ONSITE_RELATION_OF,
} from './schema';

/** Longest id accepted; longer ids are almost always a field mix-up (a URL or a payload in the wrong column). */
export const MAX_ID_LENGTH = 256;

const id = z
  .string({ invalid_type_error: 'expected a string id', required_error: 'is required' })
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((s) => s.trim().length > 0, 'must not be empty')
  // Control characters are never part of a real id, and the stores use them as key separators.
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');

/** Dates with a time must say their offset: a local-time timestamp would mean different instants on different machines. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;
const MAX_EPOCH_MS = 8.64e15; // the largest instant a JS Date can hold

/** Parses `ts` (ISO-8601 string, epoch milliseconds, or epoch milliseconds as a digit string) to epoch ms. */
export function parseTimestamp(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_EPOCH_MS) return 'epoch milliseconds must be a non-negative integer';
    return value;
  }
  if (typeof value === 'string') {
    if (/^\d{1,16}$/.test(value)) return parseTimestamp(Number(value));
    if (!ISO_8601.test(value)) return 'must be ISO-8601 with a time zone (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds';
    const ms = Date.parse(value);
    if (!Number.isFinite(ms) || ms < 0) return 'is not a valid date';
    return ms;
  }
  return 'must be ISO-8601 with a time zone or epoch milliseconds';
}

const ts = z.any().transform((v, ctx) => {
  if (v === undefined || v === null) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'is required' });
    return z.NEVER;
  }
  const parsed = parseTimestamp(v);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const onsiteSchema = z.object({
  kind: z.literal('onsite'),
  eventId: id,
  ts,
  userId: id,
  pinId: id,
  advertiserId: id.optional(),
  action: z.enum(ONSITE_ACTIONS),
  surface: z.string().max(64, 'must be at most 64 characters').optional(),
});

const offsiteSchema = z.object({
  kind: z.literal('offsite'),
  eventId: id,
  ts,
  userId: id,
  advertiserId: id,
  action: z.enum(OFFSITE_ACTIONS),
  productId: id.optional(),
  pinId: id.optional(),
  value: z.number().finite().optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code such as USD').optional(),
  consent: z.boolean({ invalid_type_error: 'must be true or false' }).optional(),
});

const pinSchema = z.object({
  kind: z.literal('pin'),
  pinId: id,
  advertiserId: id,
  category: id.optional(),
});

const advertiserSchema = z.object({
  kind: z.literal('advertiser'),
  advertiserId: id,
  vertical: z.string().max(MAX_ID_LENGTH).optional(),
});

export const eventSchema = z.discriminatedUnion('kind', [onsiteSchema, offsiteSchema, pinSchema, advertiserSchema], {
  errorMap: (issue, ctx) =>
    issue.code === z.ZodIssueCode.invalid_union_discriminator
      ? { message: 'must be one of onsite, offsite, pin, advertiser' }
      : { message: ctx.defaultError },
});

export type RawEvent = z.input<typeof eventSchema>;

/** An interaction in the form the stores write: one edge from the user (two for an offsite event with a product). */
export interface InteractionEvent {
  kind: 'onsite' | 'offsite';
  eventId: string;
  /** epoch milliseconds */
  ts: number;
  userId: string;
  relation: InteractionRelation;
  /** onsite: the pin acted on; offsite: the pin the conversion is attributed to (an edge property) */
  pinId?: string;
  /** onsite: the pin's advertiser (adds PROMOTED_BY); offsite: the advertiser converted on (the edge's tail) */
  advertiserId?: string;
  /** offsite only: adds user→product and product SOLD_BY advertiser */
  productId?: string;
  surface?: string;
  value?: number;
  currency?: string;
}

export interface PinCatalogRecord {
  pinId: string;
  advertiserId: string;
  category?: string;
}

export interface AdvertiserCatalogRecord {
  advertiserId: string;
  vertical?: string;
}

export type ClassifiedEvent =
  | { type: 'interaction'; event: InteractionEvent }
  | { type: 'pin'; pin: PinCatalogRecord }
  | { type: 'advertiser'; advertiser: AdvertiserCatalogRecord }
  | { type: 'no-consent' }
  | { type: 'rejected'; field: string; reason: string };

const CONTROL = /[\u0000-\u001f\u007f]/;

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH && !CONTROL.test(v) && v.trim().length > 0;
}

const isOptionalId = (v: unknown) => v === undefined || isId(v);

/**
 * The common case without zod: a record whose every field is plainly valid is classified here (about ten
 * times faster); anything else returns null and goes through the zod schema, which decides and explains.
 * It accepts a subset of what the schema accepts and builds the same result (a test compares the two).
 */
function classifyPlainlyValid(r: Record<string, unknown>): ClassifiedEvent | null {
  if (r.kind === 'onsite') {
    const relation = ONSITE_RELATION_OF[r.action as OnsiteActionKey];
    if (relation === undefined || !Object.prototype.hasOwnProperty.call(ONSITE_RELATION_OF, r.action as string)) return null;
    if (!isId(r.eventId) || !isId(r.userId) || !isId(r.pinId) || !isOptionalId(r.advertiserId)) return null;
    if (r.surface !== undefined && (typeof r.surface !== 'string' || r.surface.length > 64)) return null;
    const ts = parseTimestamp(r.ts);
    if (typeof ts !== 'number') return null;
    const event: InteractionEvent = { kind: 'onsite', eventId: r.eventId, ts, userId: r.userId, relation, pinId: r.pinId };
    if (r.advertiserId !== undefined) event.advertiserId = r.advertiserId as string;
    if (r.surface !== undefined) event.surface = r.surface as string;
    return { type: 'interaction', event };
  }
  if (r.kind === 'offsite') {
    const relation = OFFSITE_RELATION_OF[r.action as OffsiteActionKey];
    if (relation === undefined || !Object.prototype.hasOwnProperty.call(OFFSITE_RELATION_OF, r.action as string)) return null;
    if (!isId(r.eventId) || !isId(r.userId) || !isId(r.advertiserId) || !isOptionalId(r.productId) || !isOptionalId(r.pinId)) return null;
    if (r.value !== undefined && (typeof r.value !== 'number' || !Number.isFinite(r.value))) return null;
    if (r.currency !== undefined && (typeof r.currency !== 'string' || !/^[A-Z]{3}$/.test(r.currency))) return null;
    if (r.consent !== undefined && typeof r.consent !== 'boolean') return null;
    const ts = parseTimestamp(r.ts);
    if (typeof ts !== 'number') return null;
    if (r.consent !== true) return { type: 'no-consent' };
    const event: InteractionEvent = { kind: 'offsite', eventId: r.eventId, ts, userId: r.userId, relation, advertiserId: r.advertiserId };
    if (r.productId !== undefined) event.productId = r.productId as string;
    if (r.pinId !== undefined) event.pinId = r.pinId as string;
    if (r.value !== undefined) event.value = r.value as number;
    if (r.currency !== undefined) event.currency = r.currency as string;
    return { type: 'interaction', event };
  }
  return null;
}

type OnsiteActionKey = keyof typeof ONSITE_RELATION_OF;
type OffsiteActionKey = keyof typeof OFFSITE_RELATION_OF;

/** Validates one input record; never throws. */
export function classifyEvent(raw: unknown): ClassifiedEvent {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { type: 'rejected', field: '(record)', reason: 'expected a JSON object' };
  }
  return classifyPlainlyValid(raw as Record<string, unknown>) ?? classifyWithSchema(raw);
}

/** The zod path alone (exported for the test that holds the fast path to it). */
export function classifyWithSchema(raw: unknown): ClassifiedEvent {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { type: 'rejected', field: '(record)', reason: 'expected a JSON object' };
  }
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : '(record)';
    return { type: 'rejected', field, reason: issue.message };
  }
  const e = parsed.data;
  switch (e.kind) {
    case 'onsite':
      return {
        type: 'interaction',
        event: {
          kind: 'onsite',
          eventId: e.eventId,
          ts: e.ts,
          userId: e.userId,
          relation: ONSITE_RELATION_OF[e.action],
          pinId: e.pinId,
          ...(e.advertiserId !== undefined ? { advertiserId: e.advertiserId } : {}),
          ...(e.surface !== undefined ? { surface: e.surface } : {}),
        },
      };
    case 'offsite':
      // Consent is checked after validation so a malformed line is reported as such, but either way nothing is stored.
      if (e.consent !== true) return { type: 'no-consent' };
      return {
        type: 'interaction',
        event: {
          kind: 'offsite',
          eventId: e.eventId,
          ts: e.ts,
          userId: e.userId,
          relation: OFFSITE_RELATION_OF[e.action],
          advertiserId: e.advertiserId,
          ...(e.productId !== undefined ? { productId: e.productId } : {}),
          ...(e.pinId !== undefined ? { pinId: e.pinId } : {}),
          ...(e.value !== undefined ? { value: e.value } : {}),
          ...(e.currency !== undefined ? { currency: e.currency } : {}),
        },
      };
    case 'pin':
      return { type: 'pin', pin: { pinId: e.pinId, advertiserId: e.advertiserId, ...(e.category !== undefined ? { category: e.category } : {}) } };
    case 'advertiser':
      return { type: 'advertiser', advertiser: { advertiserId: e.advertiserId, ...(e.vertical !== undefined ? { vertical: e.vertical } : {}) } };
  }
}
