/**
 * The native backend: the C++ engine of native/ (N-API addon) behind KgeBackend. It follows
 * backend.ts exactly like the js reference, in float32, multithreaded, on the JS-owned tables in place.
 */
import * as os from 'os';
import type { Availability, BackendFactory, BackendInit, KgeBackend } from '../backend';
import { EngineBackend, engineConfig, engineTables } from '../engine-backend';
import { addonUnavailableReason, loadAddon, type NativeEngineHandle } from './addon';

export class NativeBackend extends EngineBackend<NativeEngineHandle> {
  readonly name = 'native' as const;

  constructor(init: BackendInit) {
    const threads = init.config.threads > 0 ? init.config.threads : os.availableParallelism();
    const engine = new (loadAddon().NativeEngine)({ ...engineConfig(init), threads }, engineTables(init), init.optimizer, init.sampling);
    super(init, engine);
  }
}

export const nativeBackendFactory: BackendFactory = {
  name: 'native',
  available(): Availability {
    const reason = addonUnavailableReason();
    return reason ? { ok: false, reason } : { ok: true };
  },
  create(init: BackendInit): KgeBackend {
    return new NativeBackend(init);
  },
};
