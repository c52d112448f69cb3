/** No leakage: embeddings (and the graph snapshot the ranking reads) must come from data that ends before the evaluation days. */
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
export function checkEmbeddingWindow(
  manifest: Pick<EmbeddingManifest, 'window'>,
  dir: string,
  evalStart: number,
  evalDays: number,
  allowUnknownWindow = false,
  what = 'embeddings',
): void {
  const to = manifest.window?.to ?? null;
  if (to === null) {
    if (allowUnknownWindow) return;
    throw new LeakageError(
      `${what} ${dir} do not say which data they came from (manifest window.to is null), so they may have seen the evaluation days ` +
        `(from ${iso(evalStart)}, --eval-days ${evalDays}); use a snapshot that ends before ${iso(evalStart)}, or pass --allow-unknown-window`,
    );
  }
  const toMs = typeof to === 'number' ? to : Date.parse(to);
  if (!Number.isFinite(toMs)) throw new LeakageError(`${what} ${dir}: manifest window.to ${JSON.stringify(to)} is not a date`);
  if (toMs > evalStart) {
    throw new LeakageError(
      `${what} ${dir} were built from data up to ${iso(toMs)}, which reaches into the evaluation days that start at ${iso(evalStart)} ` +
        `(--eval-days ${evalDays}): they would have seen the clicks and conversions being evaluated. ` +
        `Use a snapshot that ends by ${iso(evalStart)}, or raise --eval-days only if the data allows`,
    );
  }
}
