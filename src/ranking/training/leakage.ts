/** No leakage: embeddings must be trained on data that ends before the evaluation days. */
import { EmbeddingManifest } from '../../common/embedding-export';
import { iso } from '../data/split';

export class LeakageError extends Error {
  readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = 'LeakageError';
  }
}

/**
 * Refuses an export whose window reaches into the evaluation days (or does not say where it ends,
 * unless the caller allows that explicitly). `to` is compared as an instant: an export whose data
 * ends exactly at the first evaluation millisecond is accepted (the window end is exclusive).
 */
export function checkEmbeddingWindow(manifest: EmbeddingManifest, dir: string, evalStart: number, evalDays: number, allowUnknownWindow = false): void {
  const to = manifest.window?.to ?? null;
  if (to === null) {
    if (allowUnknownWindow) return;
    throw new LeakageError(
      `embeddings ${dir} do not say which data they were trained on (manifest window.to is null), so they may have seen the evaluation days ` +
        `(from ${iso(evalStart)}, --eval-days ${evalDays}); train them on a snapshot that ends before ${iso(evalStart)}, or pass --allow-unknown-window`,
    );
  }
  const toMs = typeof to === 'number' ? to : Date.parse(to);
  if (!Number.isFinite(toMs)) throw new LeakageError(`embeddings ${dir}: manifest window.to ${JSON.stringify(to)} is not a date`);
  if (toMs > evalStart) {
    throw new LeakageError(
      `embeddings ${dir} were trained on data up to ${iso(toMs)}, which reaches into the evaluation days that start at ${iso(evalStart)} ` +
        `(--eval-days ${evalDays}): their vectors would have seen the clicks being evaluated. ` +
        `Train the embeddings on a snapshot that ends by ${iso(evalStart)}, or raise --eval-days only if the data allows`,
    );
  }
}
