#!/usr/bin/env node
/**
 * Builds the CUDA KGE backend addon (cuda/build/Release/adkg_cuda.node) with nvcc and g++, without node-gyp,
 * so that a GPU machine with nvcc but no npm can build it (bench/kge-gpu/run.sh does).
 *
 *   node cuda/build.js             build; exit 1 with the reason when it fails
 *   node cuda/build.js --optional  (npm install) when nvcc is not found or the build fails, say so and exit 0
 *   node cuda/build.js --emulation cuda/build/Emulation/adkg_cuda.node with g++ alone: the same sources (kernels,
 *                                  launchers, engine, addon) against the host emulation of CUDA in cuda/test/emu, whose
 *                                  "device" runs each thread block as fibers on the CPU. For tests without a GPU
 *                                  (test/kge-cuda-emulated.test.ts loads it through ADKG_CUDA_ADDON); slow, not a backend.
 *
 * Device code: sm_90a machine code (sm_90's, plus the wgmma tile) plus compute_90 PTX (ADKG_CUDA_ARCHS=80,90 adds
 * others). The CUDA
 * runtime is linked statically (-lcudart_static), so the addon loads on a machine with no GPU or driver and
 * reports "no CUDA device" through info() instead of failing to load.
 *
 * Finds: nvcc on ADKG_NVCC, $CUDA_HOME/bin, PATH, /usr/local/cuda/bin; Node-API headers from
 * ADKG_NAPI_INCLUDE (colon-separated folders holding napi.h and node_api.h), else node_modules/node-addon-api
 * and node_modules/node-api-headers, else .device/napi (what bench/kge-gpu/prepare.sh copies there).
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const optional = process.argv.includes('--optional');
const emulation = process.argv.includes('--emulation');
const root = path.resolve(__dirname, '..');
const srcDir = path.join(__dirname, 'src');
const outDir = path.join(__dirname, 'build', emulation ? 'Emulation' : 'Release');
const objDir = path.join(__dirname, 'build', emulation ? 'obj-emulation' : 'obj');
const addonPath = path.join(outDir, 'adkg_cuda.node');

function fail(why) {
  // --optional (npm install): never fail the install; the cuda backend then reports itself unavailable.
  if (optional) {
    console.warn(`adkg: cuda backend not built (${why}); \`npm run build:cuda\` retries.`);
    process.exit(0);
  }
  console.error(`adkg: cuda backend build failed: ${why}`);
  process.exit(1);
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function findNvcc() {
  const candidates = [process.env.ADKG_NVCC, process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'bin', 'nvcc'),
    which('nvcc'), '/usr/local/cuda/bin/nvcc'].filter(Boolean);
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

/** The folder with cuda_runtime.h and the one with libcudart_static.a, from nvcc's install. */
function cudaDirs(nvcc) {
  const home = path.dirname(path.dirname(fs.realpathSync(nvcc)));
  const incs = [path.join(home, 'include'), path.join(home, 'targets', 'x86_64-linux', 'include'), path.join(home, 'targets', 'sbsa-linux', 'include')];
  const libs = [path.join(home, 'lib64'), path.join(home, 'lib'), path.join(home, 'targets', 'x86_64-linux', 'lib'), path.join(home, 'targets', 'sbsa-linux', 'lib')];
  const inc = incs.find((d) => fs.existsSync(path.join(d, 'cuda_runtime.h')));
  const lib = libs.find((d) => fs.existsSync(path.join(d, 'libcudart_static.a')));
  return { home, inc, lib };
}

function napiIncludes() {
  if (process.env.ADKG_NAPI_INCLUDE) return process.env.ADKG_NAPI_INCLUDE.split(':').filter(Boolean);
  const dirs = [];
  try {
    dirs.push(require(require.resolve('node-addon-api', { paths: [root] })).include_dir.replace(/^"|"$/g, ''));
    dirs.push(path.join(path.dirname(require.resolve('node-api-headers/package.json', { paths: [root] })), 'include'));
  } catch {
    dirs.length = 0;
  }
  if (dirs.length === 2 && dirs.every((d) => fs.existsSync(d))) return dirs;
  const device = path.join(root, '.device', 'napi');
  if (fs.existsSync(path.join(device, 'napi.h'))) return [device];
  return null;
}

function describe(cmd, args) {
  return `${path.basename(cmd)} ${args.filter((a) => !a.startsWith('-I')).slice(-3).join(' ')}`;
}

function run(cmd, args) {
  console.error(`  ${describe(cmd, args)}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${path.basename(cmd)} exited with status ${r.status}`);
}

/** Runs the commands, as many at once as there are cores (nvcc compiles a unit's targets on one core each), in the
 * order given (longest first). On the first failure the others are stopped, and the build fails naming the command
 * that failed. */
function runAll(jobs) {
  const children = [];
  let failed = false;
  const stopAndFail = (why) => {
    if (failed) return;
    failed = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    fail(why);
  };
  const runOne = ([cmd, args]) => new Promise((resolve) => {
    console.error(`  ${describe(cmd, args)}`);
    const child = spawn(cmd, args, { stdio: 'inherit' });
    children.push(child);
    child.on('error', (e) => stopAndFail(`could not run ${cmd}: ${e.message}`));
    child.on('close', (status, signal) => {
      if (status === 0) resolve();
      else if (!failed) stopAndFail(`${describe(cmd, args)} ${signal ? `was killed by ${signal}` : `exited with status ${status}`}`);
    });
  });
  const queue = [...jobs];
  const worker = async () => {
    while (queue.length > 0 && !failed) await runOne(queue.shift());
  };
  return Promise.all(Array.from({ length: Math.max(1, Math.min(jobs.length, os.cpus().length)) }, worker));
}

/** The units with device code, compiled at once: kernels.cu, gram.cu, cuda_engine.cu, and gemm_unit.cu once per math and
 * projection GEMM kernel (gemm_launch.h; the three SIMT kernels, small, in one), which in one unit were most of the
 * build (nvcc: ~3 of 3.3 CPU minutes on the 2-core dev box, 2026-11-29; the longest unit now ~31 s). The emulated build
 * (g++, seconds a unit) compiles gemm_unit.cu once, with every kernel (splitGemm false). */
function deviceUnits(splitGemm = true) {
  const unit = (file, defines = [], obj = file.replace(/\.cu$/, '.o')) => ({ file, defines, obj });
  if (!splitGemm) return ['kernels.cu', 'gemm_unit.cu', 'gram.cu', 'cuda_engine.cu'].map((f) => unit(f));
  const math = { simt: 0, tf32x3: 1, tf32: 2 };  // kernels.h GEMM_*
  const kernel = { project: 0, 'back-x': 1, 'back-m': 2 };  // gemm_launch.h KERNEL_*
  const gemm = (m, k) => unit('gemm_unit.cu', [`-DADKG_GEMM_MATH=${math[m]}`, `-DADKG_GEMM_KERNEL=${kernel[k]}`], `gemm-${m}-${k}.o`);
  const kernels = Object.keys(kernel);
  // Longest first (measured alone: tf32x3 and tf32 units 12–31 s, kernels.cu 13 s, simt 10 s, gram.cu 6 s, cuda_engine.cu
  // 16 s): the pool in runAll starts them in this order.
  return [...kernels.map((k) => gemm('tf32x3', k)), ...kernels.map((k) => gemm('tf32', k)), unit('cuda_engine.cu'),
    unit('kernels.cu'), unit('gemm_unit.cu', [`-DADKG_GEMM_MATH=${math.simt}`], 'gemm-simt.o'), unit('gram.cu')];
}

/** The emulated build: every unit with g++ (the .cu files as C++), the CUDA headers replaced by cuda/test/emu. */
async function buildEmulation(napi, cxx) {
  const emu = ['-std=c++20', '-O2', '-fPIC', '-pthread', '-DADKG_CUDA_MIN_CC=90', '-DADKG_CUDA_SM90A', '-DADKG_EMU_ENGINE', '-I', path.join(__dirname, 'test', 'emu')];
  const jobs = deviceUnits(false).map(({ file, defines, obj }) => [cxx,
    [...emu, ...defines, '-x', 'c++', '-c', path.join(srcDir, file), '-o', path.join(objDir, obj)]]);
  jobs.push([cxx, ['-std=c++17', '-O2', '-fPIC', '-pthread', '-c', path.join(root, 'native', 'src', 'thread_pool.cc'), '-o', path.join(objDir, 'thread_pool.o')]]);
  jobs.push([cxx, [...emu, '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    ...napi.map((d) => `-I${d}`), '-c', path.join(srcDir, 'addon.cc'), '-o', path.join(objDir, 'addon.o')]]);
  await runAll(jobs);
  run(cxx, ['-shared', '-pthread', '-o', addonPath, ...jobs.map(([, args]) => args[args.length - 1])]);
}

async function main() {
  if (emulation) {
    fs.rmSync(addonPath, { force: true });  // a failed build must not leave the last one for the tests to load
    const napi = napiIncludes();
    if (!napi) return fail('Node-API headers not found (node_modules/node-addon-api + node-api-headers, ADKG_NAPI_INCLUDE or .device/napi)');
    fs.mkdirSync(outDir, { recursive: true });
    fs.mkdirSync(objDir, { recursive: true });
    console.error('adkg: building the cuda backend against the host emulation (cuda/test/emu)');
    await buildEmulation(napi, process.env.CXX || 'g++');
    return loadCheck();
  }
  const nvcc = findNvcc();
  if (!nvcc) return fail('nvcc not found (set ADKG_NVCC or CUDA_HOME, or put nvcc on PATH)');
  const { inc, lib } = cudaDirs(nvcc);
  if (!inc) return fail(`cuda_runtime.h not found beside ${nvcc}`);
  if (!lib) return fail(`libcudart_static.a not found beside ${nvcc}`);
  const napi = napiIncludes();
  if (!napi) return fail('Node-API headers not found (node_modules/node-addon-api + node-api-headers, ADKG_NAPI_INCLUDE or .device/napi)');
  const cxx = process.env.CXX || 'g++';
  const archs = (process.env.ADKG_CUDA_ARCHS || '90').split(',').map((s) => s.trim()).filter(Boolean);
  const minArch = Math.min(...archs.map(Number));
  // sm_90 machine code is built as sm_90a (the same code, plus the warpgroup GEMM tile's wgmma, which only the
  // arch-specific target has); it runs on compute capability 9.0 alone, as sm_90 code does.
  const sass = (a) => (a === '90' ? '90a' : a);
  const gencode = archs.flatMap((a) => ['-gencode', `arch=compute_${sass(a)},code=sm_${sass(a)}`]);
  gencode.push('-gencode', `arch=compute_${archs[archs.length - 1]},code=compute_${archs[archs.length - 1]}`);
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(objDir, { recursive: true });
  console.error(`adkg: building the cuda backend with ${nvcc} (archs ${archs.join(',')})`);
  // --threads 0: each unit's targets (sm_90a code, compute_90 PTX) compiled at once, the same code as one after the
  // other (kernels.cu when it held the GEMMs: ~125 s instead of ~180 s of the 2-core dev box, nvcc 13.5). Not
  // --split-compile: it changes the kernels' register allocation, and the measured SASS with it. Splitting the GEMMs
  // into units (deviceUnits) left every kernel's SASS as it was (cuobjdump -sass, per function, 2026-11-29).
  const jobs = deviceUnits().map(({ file, defines, obj }) => [nvcc,
    ['-std=c++17', '-O3', '--threads', '0', ...gencode, `-DADKG_CUDA_MIN_CC=${minArch}`, ...(archs.includes('90') ? ['-DADKG_CUDA_SM90A'] : []), ...defines, '-Xcompiler', '-fPIC', '-c', path.join(srcDir, file), '-o', path.join(objDir, obj)]]);
  // The native engine's thread pool (host-side staging and planning run on it).
  jobs.push([cxx, ['-std=c++17', '-O2', '-fPIC', '-pthread', '-c', path.join(root, 'native', 'src', 'thread_pool.cc'), '-o', path.join(objDir, 'thread_pool.o')]]);
  jobs.push([cxx, ['-std=c++17', '-O2', '-fPIC', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    ...napi.map((d) => `-I${d}`), `-I${inc}`, '-c', path.join(srcDir, 'addon.cc'), '-o', path.join(objDir, 'addon.o')]]);
  await runAll(jobs);
  const objs = jobs.map(([, args]) => args[args.length - 1]);
  run(cxx, ['-shared', '-o', addonPath, ...objs, `-L${lib}`, '-lcudart_static', '-lpthread', '-ldl', '-lrt']);
  loadCheck();
}

function loadCheck() {
  // Node loads addons with lazy binding: a function of the engine no unit defines (a unit missing from deviceUnits)
  // would load here and fail only when first called, on the GPU machine. Say so now (nm from binutils, where present).
  const nm = spawnSync('nm', ['-D', '-C', '--undefined-only', addonPath], { encoding: 'utf8' });
  if (nm.status === 0) {
    const missing = nm.stdout.split('\n').filter((l) => l.includes('adkg')).map((l) => l.trim().replace(/^U\s+/, ''));
    if (missing.length) return fail(`the built addon leaves undefined: ${missing.join('; ')}`);
  }
  try {
    const info = require(addonPath).info();
    console.error(`adkg: cuda backend built: ${addonPath} (${info.ok ? `device ${info.device}, cc ${info.computeCapability}` : info.reason})`);
  } catch (e) {
    fail(`the built addon does not load: ${e.message}`);
  }
}

main().catch((e) => fail(e.message));
