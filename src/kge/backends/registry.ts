/**
 * Backends by name. `js` is built in; `native` and `cuda` are loaded lazily from ./native and ./cuda
 * (their index.ts export `nativeBackendFactory` / `cudaBackendFactory`), so a missing or broken addon never breaks `js`.
 */
import type { Availability, BackendFactory, BackendName, BackendInit, KgeBackend } from './backend';
import { jsBackendFactory } from './js';

function unavailableFactory(name: BackendName, reason: string): BackendFactory {
  return {
    name,
    available: (): Availability => ({ ok: false, reason }),
    create: (): KgeBackend => {
      throw new Error(`backend ${name} is unavailable: ${reason}`);
    },
  };
}

function loadNative(): BackendFactory {
  try {
    // Lazy and dynamic on purpose: the native module (and its addon) may not exist on this machine.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require('./native') as { nativeBackendFactory?: BackendFactory };
    if (!mod.nativeBackendFactory) return unavailableFactory('native', 'src/kge/backends/native does not export nativeBackendFactory');
    return mod.nativeBackendFactory;
  } catch (e) {
    return unavailableFactory('native', `the native backend module could not be loaded (${(e as Error).message.split('\n')[0]})`);
  }
}

// cuda: loaded lazily from ./cuda like native (its index.ts exports cudaBackendFactory, whose available()
// says "cuda backend unavailable: <why>" without the addon or a device).
function loadCuda(): BackendFactory {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = require('./cuda') as { cudaBackendFactory?: BackendFactory };
    if (!mod.cudaBackendFactory) return unavailableFactory('cuda', 'src/kge/backends/cuda does not export cudaBackendFactory');
    return mod.cudaBackendFactory;
  } catch (e) {
    return unavailableFactory('cuda', `the cuda backend module could not be loaded (${(e as Error).message.split('\n')[0]})`);
  }
}
let cudaFactory: BackendFactory | null = null;

let nativeFactory: BackendFactory | null = null;

/** The factory for a backend name (never throws; check `available()`). */
export function getBackendFactory(name: BackendName): BackendFactory {
  switch (name) {
    case 'js':
      return jsBackendFactory;
    case 'native':
      return (nativeFactory ??= loadNative());
    case 'cuda':
      return (cudaFactory ??= loadCuda());
    default:
      throw new Error(`unknown backend "${name as string}" (expected js|native|cuda)`);
  }
}

/** Every backend, available or not, in a fixed order (the test battery iterates this). */
export function allBackendFactories(): BackendFactory[] {
  return (['js', 'native', 'cuda'] as BackendName[]).map(getBackendFactory);
}

/** Creates a backend, or throws an error that says why it is unavailable. */
export function createBackend(name: BackendName, init: BackendInit): KgeBackend {
  const f = getBackendFactory(name);
  const a = f.available();
  if (!a.ok) throw new Error(`backend ${name} is unavailable: ${a.reason}`);
  return f.create(init);
}
