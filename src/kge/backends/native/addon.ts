/**
 * Loads the compiled addon (native/build/Release/adkg_native.node, built by `npm run build:native`).
 * A missing or broken addon is an error that says why and what to run; nothing else in adkg needs it.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { EngineConfig, EngineHandle } from '../engine-backend';

/** The addon's own surface (native/src/addon.cc). The native engine takes the shared engine config plus its thread count. */
export interface NativeEngineConfig extends EngineConfig {
  threads: number;
}

export type NativeEngineHandle = EngineHandle;

export interface NativeAddon {
  info(): { isa: string; hardwareThreads: number };
  NativeEngine: new (config: NativeEngineConfig, tables: object, optimizer: object, sampling: object) => NativeEngineHandle;
  /** The ranking LID tables' row-wise optimizer step on rows of one page (src/ranking/tables/native-rowwise.ts); absent in builds before it. */
  rowwiseStep?: RowwiseStep;
}

/** Synchronous, in place; throws (TypeError / RangeError, naming the argument) before writing anything when an argument is off. */
export type RowwiseStep = (
  values: Float32Array,
  state: Float32Array,
  moment: Float32Array | null,
  rows: Int32Array,
  grads: Float32Array,
  gradIndex: Int32Array | null,
  dim: number,
  params: { kind: 'adagrad' | 'adam'; learningRate: number; eps: number; beta1: number; beta2: number },
) => void;

/** Where the addon is looked for; ADKG_NATIVE_ADDON overrides it (tests use it to simulate a missing build). */
export function addonPath(): string {
  if (process.env.ADKG_NATIVE_ADDON) return path.resolve(process.env.ADKG_NATIVE_ADDON);
  // src/kge/backends/native → repo root; the same from dist/src/kge/backends/native.
  let dir = __dirname;
  for (let i = 0; i < 8 && !fs.existsSync(path.join(dir, 'package.json')); i++) dir = path.dirname(dir);
  return path.join(dir, 'native', 'build', 'Release', 'adkg_native.node');
}

let cached: { addon: NativeAddon } | { error: string } | null = null;

/** Why the addon cannot be used here, or null when it loads. */
export function addonUnavailableReason(): string | null {
  const r = tryLoad();
  return 'error' in r ? r.error : null;
}

function tryLoad(): { addon: NativeAddon } | { error: string } {
  if (cached) return cached;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    cached = { error: `native backend unavailable: the addon ${file} is not built; run npm run build:native` };
    return cached;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    cached = { addon: require(file) as NativeAddon };
  } catch (e) {
    cached = { error: `native backend unavailable: ${file} does not load (${(e as Error).message.split('\n')[0]}); run npm run build:native` };
  }
  return cached;
}

/** The addon, or an Error "native backend unavailable: <why>; run npm run build:native". */
export function loadAddon(): NativeAddon {
  const r = tryLoad();
  if ('error' in r) throw new Error(r.error);
  return r.addon;
}
