#!/usr/bin/env bash
# Run ON THE GPU MACHINE (nvcc, g++, python3 with PyTorch; no Node): builds the cuda and native addons,
# checks cuda against js (the device half of the test battery), then measures cuda vs eager PyTorch and
# FB15k-237 MRR cuda vs native. Needs .device/ from bench/kge-gpu/prepare.sh. Results (last line JSON)
# also go to $OUT when set. See bench/kge-gpu/README.md for the exact `run` call.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
D=.device
OUTDIR="${OUT:-/tmp/adkg-kge-gpu-out}"
mkdir -p "$OUTDIR"
[ -f "$D/node.xz" ] && [ -d "$D/app" ] || { echo "missing $D/node.xz or $D/app: run bench/kge-gpu/prepare.sh on the dev machine and carry .device"; exit 2; }
NODE=/tmp/adkg-node
xz -dc "$D/node.xz" > "$NODE" && chmod +x "$NODE"
nvidia-smi -L || true
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
nvcc --version | tail -1; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)' || true
start=$(date +%s)
echo "== build cuda addon"
ADKG_NAPI_INCLUDE="$root/$D/napi" "$NODE" cuda/build.js 2>&1 | tee "$OUTDIR/build-cuda.log" || exit 3
echo "== build native addon (g++, no node-gyp)"
mkdir -p "$D/native"
nat="$root/$D/native/adkg_native.node"
flags="-std=c++17 -O3 -fPIC -pthread -fno-math-errno -fno-trapping-math -ffp-contract=fast -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -I$root/$D/napi"
# The same units and per-file flags (ISA; no FMA contraction for rowwise.cc) as native/binding.gyp.
( g++ $flags -Wno-psabi -mavx2 -mfma -c native/src/kernels_avx2.cc -o /tmp/adkg-avx2.o &&
  g++ $flags -Wno-psabi -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma -mprefer-vector-width=512 -c native/src/kernels_avx512.cc -o /tmp/adkg-avx512.o &&
  g++ $flags -ffp-contract=off -c native/src/rowwise.cc -o /tmp/adkg-rowwise.o &&
  g++ $flags -Wno-psabi -shared -o "$nat" native/src/addon.cc native/src/thread_pool.cc native/src/kernels_generic.cc native/src/dispatch.cc native/src/engine.cc /tmp/adkg-avx2.o /tmp/adkg-avx512.o /tmp/adkg-rowwise.o ) 2>&1 | tail -5
export ADKG_NATIVE_ADDON="$nat"
# ADKG_SKIP_PARITY=1 / ADKG_SKIP_TRAIN=1 leave out the battery / the end-to-end `adkg train` runs (a short rerun).
if [ -z "${ADKG_SKIP_PARITY:-}" ]; then
echo "== parity: cuda vs js (battery; default GEMM tiles: 3xTF32, two blocks per SM)"
timeout "${ADKG_PARITY_TIMEOUT:-150}" "$NODE" "$D/app/bench/kge-gpu/parity.js" 2>&1 | tee "$OUTDIR/parity.log"
# The other FP32-level ways of running the projection GEMMs must pass the projected models' battery too: the FP32 FMA
# tiles, and either math compiled for one block per SM (ADKG_CUDA_GEMM_BLOCKS=1, register staging).
for v in tf32x3:1 simt:1 simt:2; do
  echo "== parity: cuda (ADKG_CUDA_GEMM=${v%%:*} ADKG_CUDA_GEMM_BLOCKS=${v##*:}) vs js, TransR/TransRA"
  ADKG_CUDA_GEMM=${v%%:*} ADKG_CUDA_GEMM_BLOCKS=${v##*:} timeout "${ADKG_PARITY_TIMEOUT:-150}" "$NODE" "$D/app/bench/kge-gpu/parity.js" --models transr,transra 2>&1 | tee "$OUTDIR/parity-${v%%:*}-${v##*:}.log"
done
# Opt-in, not yet measured: the shared-negatives loss kernel's 16-byte variant (same bits by construction).
echo "== parity: cuda (ADKG_CUDA_VEC_GROUP_LOSS=1) vs js (battery)"
ADKG_CUDA_VEC_GROUP_LOSS=1 timeout "${ADKG_PARITY_TIMEOUT:-150}" "$NODE" "$D/app/bench/kge-gpu/parity.js" 2>&1 | tee "$OUTDIR/parity-vecloss.log"
fi
# Before the bench: a failure here (it failed in session 8's run 7, cause not seen) must not wait behind the long part.
echo "== adkg train end to end: TransR on FB15k-237 (the CLI's defaults, 5 epochs), cuda${ADKG_TRAIN_NATIVE:+ and native}"
[ -n "${ADKG_SKIP_TRAIN:-}" ] && echo "skipped (ADKG_SKIP_TRAIN)"
# native on the same schedule takes minutes on 16 cores: only with ADKG_TRAIN_NATIVE=1.
for v in $([ -z "${ADKG_SKIP_TRAIN:-}" ] && echo cuda ${ADKG_TRAIN_NATIVE:+native}); do
  rm -rf "/tmp/adkg-train-$v"
  timeout "${ADKG_TRAIN_TIMEOUT:-240}" "$NODE" "$D/app/bench/kge-gpu/train-cli.js" train --triples "$D/data/fb15k-237" \
    --model transr --backend "$v" --epochs 5 --json --no-progress --out "/tmp/adkg-train-$v" 2> "$OUTDIR/train-$v.log" | tail -1 > "$OUTDIR/train-$v.json"
  "$NODE" -e 'const [f, v] = process.argv.slice(1); try { const r = JSON.parse(require("fs").readFileSync(f, "utf8"));
    console.log(`adkg train ${v}: test MRR ${r.test.mrr.toFixed(4)} hits@10 ${r.test.hits10.toFixed(4)}, train ${r.trainSeconds.toFixed(1)} s, ${r.positivesPerSecond.toFixed(0)} positives/s, wall ${r.seconds.toFixed(1)} s`);
    } catch (e) { console.log(`adkg train ${v}: FAIL (${e.message}); see train-${v}.log`); }' "$OUTDIR/train-$v.json" "$v"
  [ -s "$OUTDIR/train-$v.json" ] && grep -q '"test"' "$OUTDIR/train-$v.json" || tail -n 15 "$OUTDIR/train-$v.log" | sed "s/^/train-$v.log: /"
done
echo "== bench"
rm -rf /tmp/adkg-fb15k && mkdir -p /tmp/adkg-fb15k && tar -xzf "$D/data/FB15k-237.tar.gz" -C /tmp/adkg-fb15k
fb=$(dirname "$(find /tmp/adkg-fb15k -name train.txt | head -1)")
timeout "${ADKG_BENCH_TIMEOUT:-360}" "$NODE" --max-old-space-size=16384 "$D/app/bench/kge-gpu/run.js" --out /tmp/adkg-kge-gpu --fb15k "$fb" "$@" 2> >(tee "$OUTDIR/bench.log" >&2) | tee "$OUTDIR/result.json"
# The projection GEMMs compiled for one block per SM (register staging), adkg alone (the PyTorch figures above are
# this run's peer).
if [ -z "${ADKG_SKIP_BLOCKS1:-}" ]; then
echo "== bench: ADKG_CUDA_GEMM_BLOCKS=1, TransR"
ADKG_CUDA_GEMM_BLOCKS=1 timeout "${ADKG_BENCH_TIMEOUT:-360}" "$NODE" --max-old-space-size=16384 "$D/app/bench/kge-gpu/run.js" --out /tmp/adkg-kge-gpu-b1 \
  --models transr --configs independent,shared,shared-262k --gemm tf32x3,simt --skip-pytorch --epoch-configs none --hybrid-configs none \
  "$@" 2> >(sed 's/^/blocks1: /' | tee "$OUTDIR/bench-blocks1.log" >&2) > "$OUTDIR/result-blocks1.json"
fi
if [ -z "${ADKG_SKIP_VECLOSS:-}" ]; then
echo "== bench: ADKG_CUDA_VEC_GROUP_LOSS=1, shared negatives"
ADKG_CUDA_VEC_GROUP_LOSS=1 timeout "${ADKG_BENCH_TIMEOUT:-360}" "$NODE" --max-old-space-size=16384 "$D/app/bench/kge-gpu/run.js" --out /tmp/adkg-kge-gpu-vl \
  --models transe,transr --configs shared,shared-262k --gemm tf32x3 --skip-pytorch --epoch-configs none --hybrid-configs none \
  "$@" 2> >(sed 's/^/vecloss: /' | tee "$OUTDIR/bench-vecloss.log" >&2) > "$OUTDIR/result-vecloss.json"
fi
echo "total $(( $(date +%s) - start )) s"
# The run tool brings back at most 8 files from $OUT: the other logs travel in one archive.
( cd "$OUTDIR" && files=$(ls | grep -vE '^(all\.log|diag\.log|result\.json|result-blocks1\.json|result-vecloss\.json|logs\.tar\.gz)$') && [ -n "$files" ] && tar -czf logs.tar.gz --remove-files $files ) || true
