/**
 * Picks the tfjs backend for the dense part: tfjs-node ("tensorflow") when the user has installed it,
 * else wasm (bundled), else the pure-JS cpu backend with a message saying it will be slow.
 */
import * as tf from '@tensorflow/tfjs';

let chosen: string | null = null;

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export async function initDenseBackend(preferred?: BackendName, log: (msg: string) => void = (m) => process.stderr.write(m + '\n')): Promise<string> {
  if (chosen && (!preferred || preferred === chosen)) return chosen;
  tf.env().set('PROD', true); // no debug checks, and no "install tfjs-node" banner on every run
  const order: BackendName[] = preferred ? [preferred] : ['tensorflow', 'wasm', 'cpu'];
  const failures: string[] = [];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // Optional: only present when the user installed it.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-node');
      } else if (name === 'wasm') {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-backend-wasm');
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        chosen = name;
        if (name === 'cpu' && !preferred) log(`ranking: dense towers on the tfjs cpu backend (slow): ${failures.join('; ')}`);
        return name;
      }
      failures.push(`${name} backend did not initialise`);
    } catch (e) {
      // tfjs-node is optional: its absence is only worth naming when it was asked for.
      if (name !== 'tensorflow') failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
      else if (preferred === 'tensorflow') failures.push(`tensorflow: @tensorflow/tfjs-node is not installed or does not load (npm install @tensorflow/tfjs-node): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no tfjs backend could start (${failures.join('; ')})`);
}
