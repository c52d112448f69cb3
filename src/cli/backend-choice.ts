/** Which KGE backend a command trains on: `--backend` of `adkg train` and `adkg pipeline`. */
import { BackendName, getBackendFactory } from '../kge';

/**
 * A backend asked for by name must run here (else an error saying why, before any work starts); `auto` takes the
 * fastest that runs: a CUDA device, else the native engine, else the js reference (saying why not native).
 */
export function resolveBackend(requested: BackendName | 'auto', log: (s: string) => void): BackendName {
  if (requested !== 'auto') {
    const a = getBackendFactory(requested).available();
    if (!a.ok) throw new Error(`--backend ${requested}: ${a.reason} (--backend auto takes the fastest one that runs here)`);
    return requested;
  }
  if (getBackendFactory('cuda').available().ok) return 'cuda';
  const a = getBackendFactory('native').available();
  if (a.ok) return 'native';
  log(`backend: native unavailable (${a.reason}); using js`);
  return 'js';
}
