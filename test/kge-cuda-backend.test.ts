/**
 * The cuda backend. Everywhere: without the addon, or with the addon but no CUDA device, it is unavailable
 * with a clear "cuda backend unavailable: <why>" (registry, factory, constructor). Where a device exists
 * (the GPU machine; see bench/kge-gpu/README.md), the battery (kge-cuda-battery.ts) runs against the js reference:
 * identical negatives, loss trajectories and tables within tolerance for trainBatch and for trainRun in both
 * placements (resident and hybrid), gradients and scoreAll, and the event loop keeps running. The same battery runs
 * everywhere against the host emulation of CUDA (kge-cuda-emulated.test.ts).
 */
import * as path from 'path';
import { createBackend, getBackendFactory } from '../src/kge/backends/registry';
import { CudaBackend, cudaBackendFactory, cudaAddonPath, cudaDeviceInfo, cudaUnavailableReason } from '../src/kge/backends/cuda';
import { cudaBattery } from './kge-cuda-battery';
import { gramHardCase } from './kge-cuda-fixtures';
import { baseConfig, makeInit, randomGraph } from './kge-backend-fixtures';

const available = cudaBackendFactory.available();
const describeGpu = available.ok ? describe : describe.skip;
if (!available.ok) console.warn(`kge-cuda device battery skipped: ${available.reason}`);

describe('cuda backend availability', () => {
  const saved = process.env.ADKG_CUDA_ADDON;
  afterEach(() => {
    if (saved === undefined) delete process.env.ADKG_CUDA_ADDON;
    else process.env.ADKG_CUDA_ADDON = saved;
  });

  test('without the addon: unavailable, saying it is not built and how to build it', () => {
    process.env.ADKG_CUDA_ADDON = path.join(__dirname, 'no-such-dir', 'adkg_cuda.node');
    const a = cudaBackendFactory.available();
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.reason).toMatch(/^cuda backend unavailable: the addon .*no-such-dir.* is not built \(run node cuda\/build\.js/);
    const g = randomGraph(10, 2, 20, 1);
    expect(() => cudaBackendFactory.create(makeInit(g, 'transe', baseConfig({})))).toThrow(/^cuda backend unavailable: the addon/);
    expect(() => createBackend('cuda', makeInit(g, 'transe', baseConfig({})))).toThrow(/backend cuda is unavailable: cuda backend unavailable/);
  });

  test('the registry serves the cuda factory and agrees with it', () => {
    const f = getBackendFactory('cuda');
    expect(f.name).toBe('cuda');
    expect(f.available()).toEqual(cudaBackendFactory.available());
  });

  // The device tests of the Gram form's cancelling pairs (gramHardPairs) are only worth something if the constructions
  // do cancel: checked here, on the CPU, in double.
  test.each([['transr', 'near-pairs'], ['transra', 'near-pairs'], ['transr', 'fitted'], ['transra', 'fitted']] as const)(
    '%s %s: the cancelling-pair construction makes every positive\'s distance tiny against ‖M_r h‖² + ‖r‖² (near-pairs) or ‖r‖ (fitted)', (model, kind) => {
      const { init, batch } = gramHardCase(model, {}, kind);
      const t = init.tables, R = t.relation.length / 12, d = t.entity.length / (kind === 'fitted' ? 200 : 60), k = 12;
      expect(R).toBe(4);
      for (let i = 0; i < batch.heads.length; i++) {
        const r = batch.relations[i], h = batch.heads[i], tt = batch.tails[i];
        let s = 0, mh2 = 0, r2 = 0;
        for (let q = 0; q < k; q++) {
          let mh = 0, mt = 0;
          for (let c = 0; c < d; c++) {
            const m = t.projection![(r * k + q) * d + c];
            mh += m * t.entity[h * d + c];
            mt += m * t.entity[tt * d + c];
          }
          const rq = t.relation[r * k + q];
          s += (mh + rq - mt) ** 2;
          mh2 += mh * mh;
          r2 += rq * rq;
        }
        if (kind === 'near-pairs') expect(s / (mh2 + r2)).toBeLessThan(1e-4);
        else expect(Math.sqrt(s / r2)).toBeLessThan(0.02);
      }
    });

  // On a machine with the addon built but no GPU (the dev box when nvcc is installed), the statically
  // linked runtime lets the addon load and name the problem.
  const info = cudaDeviceInfo();
  const addonNoDevice = info !== null && !info.ok;
  (addonNoDevice ? test : test.skip)('with the addon but no device: "cuda backend unavailable: no CUDA device (…)"', () => {
    expect(cudaUnavailableReason()).toMatch(/^cuda backend unavailable: no (usable )?CUDA device/);
    const g = randomGraph(10, 2, 20, 1);
    expect(() => new CudaBackend(makeInit(g, 'transr', baseConfig({})))).toThrow(/^cuda backend unavailable: no (usable )?CUDA device/);
  });
  test.each([
    ['ADKG_CUDA_GEMM', 'fp16', 'ADKG_CUDA_GEMM must be simt, tf32x3, tf32, got "fp16"'],
    ['ADKG_CUDA_GEMM_BLOCKS', '3', 'ADKG_CUDA_GEMM_BLOCKS must be 1 or 2, got "3"'],
    ['ADKG_CUDA_GEMM_TILE', 'vec', 'ADKG_CUDA_GEMM_TILE must be element, chunk, wgmma, stationary, got "vec"'],
    ['ADKG_CUDA_PROJECTED_DISTANCE', 'fast', 'ADKG_CUDA_PROJECTED_DISTANCE must be direct or gram, got "fast"'],
    ['ADKG_CUDA_SHARED_LOSS', 'wide', 'ADKG_CUDA_SHARED_LOSS must be element or vector, got "wide"'],
    ['ADKG_CUDA_STAGING', 'dma', 'ADKG_CUDA_STAGING must be copy or mapped, got "dma"'],
    ['ADKG_CUDA_MEMORY_MB', '4G', 'ADKG_CUDA_MEMORY_MB must be a number of megabytes > 0, got "4G"'],
    ['ADKG_CUDA_MEMORY_MB', '0', 'ADKG_CUDA_MEMORY_MB must be a number of megabytes > 0, got "0"'],
    ['ADKG_CUDA_HOT_ROWS', '-5', 'ADKG_CUDA_HOT_ROWS must be a whole number of rows ≥ 0, got "-5"'],
    ['ADKG_CUDA_HOT_ROWS', '1.5', 'ADKG_CUDA_HOT_ROWS must be a whole number of rows ≥ 0, got "1.5"'],
  ])('%s=%s is refused by name before the addon is touched', (name, value, message) => {
    const saved = process.env[name];
    process.env[name] = value;
    try {
      const g = randomGraph(10, 2, 20, 1);
      expect(() => new CudaBackend(makeInit(g, 'transr', baseConfig({})))).toThrow(message);
    } finally {
      if (saved === undefined) delete process.env[name];
      else process.env[name] = saved;
    }
  });
  if (!addonNoDevice) console.warn(`kge-cuda no-device check skipped: ${info ? `a device is present (${info.device})` : `no addon at ${cudaAddonPath()}`}`);
});

describeGpu('cuda backend vs js reference (on the GPU)', () => cudaBattery({ emulated: false }));
