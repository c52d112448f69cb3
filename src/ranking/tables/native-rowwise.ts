/**
 * Where the native KGE engine is built, LID tables step their rows with its `rowwiseStep`
 * (native/src/rowwise.cc): the same math as RowOptimizer.step, run in place on the table's own pages
 * (JS-owned Float32Arrays), one call per page touched by a batch. Without the addon, or with
 * ADKG_LID_NATIVE=0 (to compare the two), the JS step runs.
 */
import { NativeAddon, RowwiseStep, addonUnavailableReason, loadAddon } from '../../kge/backends/native/addon';

export type { RowwiseStep };

/** The addon, when it has the step; else why the JS step is used. Read when a table is made. */
export function nativeRowwise(): { addon: NativeAddon & { rowwiseStep: RowwiseStep } } | { reason: string } {
  if (process.env.ADKG_LID_NATIVE === '0') return { reason: 'ADKG_LID_NATIVE=0 forces the JS step' };
  const why = addonUnavailableReason();
  if (why) return { reason: why };
  const addon = loadAddon();
  if (typeof addon.rowwiseStep !== 'function') return { reason: 'the native addon predates rowwiseStep; run npm run build:native' };
  return { addon: addon as NativeAddon & { rowwiseStep: RowwiseStep } };
}
