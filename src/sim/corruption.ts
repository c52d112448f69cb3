/**
 * Corrupt lines injected into events.jsonl at a rate, each listed in corrupt.jsonl, so ingestion can be
 * checked line by line. Injected lines are extra lines: the real events (and truth.jsonl) do not change.
 */
import { SeededRandom } from '../common/rng';

export const CORRUPT_KINDS = ['malformed_json', 'duplicate_event_id', 'missing_consent', 'bad_timestamp', 'oversized_field'] as const;
export type CorruptKind = (typeof CORRUPT_KINDS)[number];

/** Length of the oversized id: far beyond any sane bound on id length. */
export const OVERSIZED_ID_LENGTH = 10_000;
const BAD_TIMESTAMPS = ['not-a-timestamp', '2026-13-45T25:61:61Z', '', 'yesterday'];

/** What the injector needs to know about the real event line it follows. */
export interface RealEventLine {
  line: string;
  eventId: string;
  ts: string;
  userId: string;
  advertiserId: string;
  pinId: string | null;
}

export class CorruptionInjector {
  private injected = 0;
  readonly counts: Record<CorruptKind, number> = {
    malformed_json: 0, duplicate_event_id: 0, missing_consent: 0, bad_timestamp: 0, oversized_field: 0,
  };

  constructor(private readonly rate: number, private readonly rng: SeededRandom) {}

  /** Called after each real event line: whether to insert a corrupt line after it. */
  roll(): boolean {
    return this.rate > 0 && this.rng.next() < this.rate;
  }

  /** The corrupt line to insert after `real`. Kinds take turns so each shows up. */
  make(real: RealEventLine): { kind: CorruptKind; line: string } {
    const k = this.injected++;
    const kind = CORRUPT_KINDS[k % CORRUPT_KINDS.length];
    this.counts[kind]++;
    const freshId = `ex${k}`; // cannot collide with real ids "e<digits>"
    let line: string;
    switch (kind) {
      case 'malformed_json':
        // An unclosed object is never valid JSON.
        line = real.line.slice(0, Math.max(2, real.line.length >> 1)).replace(/\n/g, '');
        break;
      case 'duplicate_event_id':
        line = real.line.replace(/\n$/, ''); // an at-least-once redelivery
        break;
      case 'missing_consent':
        line = `{"eventId":"${freshId}","ts":"${real.ts}","kind":"offsite","userId":"${real.userId}","advertiserId":"${real.advertiserId}","action":"page_visit"${k % 2 === 0 ? ',"consent":false' : ''}}`;
        break;
      case 'bad_timestamp':
        line = `{"eventId":"${freshId}","ts":"${BAD_TIMESTAMPS[k % BAD_TIMESTAMPS.length]}","kind":"onsite","userId":"${real.userId}","pinId":"${real.pinId ?? 'p0'}","advertiserId":"${real.advertiserId}","action":"impression"}`;
        break;
      case 'oversized_field':
        line = `{"eventId":"${freshId}","ts":"${real.ts}","kind":"onsite","userId":"u${'x'.repeat(OVERSIZED_ID_LENGTH - 1)}","pinId":"${real.pinId ?? 'p0'}","advertiserId":"${real.advertiserId}","action":"impression"}`;
        break;
    }
    return { kind, line };
  }

  get total(): number {
    return this.injected;
  }
}
