/**
 * The cuda backend's device battery (kge-cuda-battery.ts) without a GPU: the engine's own sources — kernels,
 * launchers, host code, addon — built with g++ against the host emulation of CUDA (`node cuda/build.js --emulation`,
 * cuda/test/emu), whose device runs each thread block as fibers on the CPU: lanes interleave only at barriers and
 * shuffles and run in an order a GPU may also take (a race between lanes shows), device memory starts as NaN, 16-byte
 * accesses are checked for alignment, mma.sync and cp.async follow the PTX ISA, and a launch a GPU would refuse is
 * refused. What it does not show is speed, and timing-dependent behaviour of real warps; bench/kge-gpu runs the
 * battery on a GPU.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { cudaDeviceInfo } from '../src/kge/backends/cuda';
import { cudaBattery } from './kge-cuda-battery';

const root = path.resolve(__dirname, '..');
const build = spawnSync(process.execPath, [path.join(root, 'cuda', 'build.js'), '--emulation'], { encoding: 'utf8' });
// This file's process.env only (jest gives each test file its own).
process.env.ADKG_CUDA_ADDON = path.join(root, 'cuda', 'build', 'Emulation', 'adkg_cuda.node');

test('the engine builds against the host emulation and reports the emulated device', () => {
  expect({ status: build.status, stderr: build.status === 0 ? '' : build.stderr }).toEqual({ status: 0, stderr: '' });
  const info = cudaDeviceInfo();
  expect(info).toMatchObject({ ok: true, device: 'host emulation (no GPU)', computeCapability: '9.0' });
});

describe('cuda backend vs js reference (host emulation of CUDA)', () => cudaBattery({ emulated: true }));
