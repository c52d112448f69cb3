/**
 * ImpressionRecord: the ranking layer's input (DESIGN §5). One JSON object a line in
 * `impressions.jsonl` (dataset loaders) or `truth.jsonl` (simulator, where pClick/pConvert are the
 * ground-truth probabilities, so the oracle AUC can be computed).
 */
export interface ImpressionRecord {
  /** Event id of the impression. */
  eventId: string;
  /** Epoch milliseconds. */
  ts: number;
  userId: string;
  pinId: string;
  advertiserId: string;
  category?: string;
  surface?: string;
  click: 0 | 1;
  /** Conversion attributed to this impression's click (0 when not clicked). */
  conversion: 0 | 1;
  /** True click probability (simulator only). */
  pClick?: number;
  /** True conversion probability given a click (simulator only). */
  pConvert?: number;
}
