#!/usr/bin/env bash
# Run ON THE GPU MACHINE (nvcc, g++, python3 with PyTorch; no Node): builds the cuda and native addons,
# checks cuda against js (the device half of the test battery), then measures cuda vs eager PyTorch and
# FB15k-237 MRR cuda vs native. Needs .device/ from bench/kge-gpu/prepare.sh. Results (last line JSON)
# also go to $OUT when set. See bench/kge-gpu/README.md for the exact `run` call.
#
# Two modes. By default the issue's bench (≤ 5 minutes): the battery, FB15k-237, `adkg train` and the throughput of the
# default settings against PyTorch, the last line the bench's JSON. ADKG_LEVERS=1 also checks (parity) and times
# (adkg alone) every opt-in setting, for choosing the defaults, in about 9 minutes.
# Device time is scarce: the whole script keeps to ADKG_BUDGET seconds (default 290, or 520 with ADKG_LEVERS=1, under
# the `run` call's timeout_s=560) by cutting each step's timeout to what is left and skipping the optional steps when
# little is; every step ends with a line "== <step> exit N" (124: timed out). The per-step logs live outside $OUT and travel in
# $OUT/logs.tar.gz, rewritten after each step, so that $OUT never holds more than the 8 files the tool brings back,
# even when the call is killed.
set -uo pipefail
t0=$(date +%s)
LEVERS=${ADKG_LEVERS:-0}
if [ "$LEVERS" = 1 ]; then BUDGET=${ADKG_BUDGET:-520}; else BUDGET=${ADKG_BUDGET:-290}; fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
D=.device
OUTDIR="${OUT:-/tmp/adkg-kge-gpu-out}"
LOGS=/tmp/adkg-kge-gpu-logs
rm -rf "$LOGS" && mkdir -p "$OUTDIR" "$LOGS"
[ -f "$D/node.xz" ] && [ -f "$D/app/STAMP" ] || { echo "missing $D/node.xz or a complete $D/app (no STAMP): run bench/kge-gpu/prepare.sh on the dev machine and carry .device"; exit 2; }
echo "prepared: $(cat "$D/app/STAMP")"
if [ "$LEVERS" = 1 ]; then echo "mode: the defaults and every opt-in setting (ADKG_LEVERS=1), budget $BUDGET s"
else echo "mode: the defaults only (ADKG_LEVERS=1 also checks and times the opt-in settings), budget $BUDGET s"; fi
NODE=/tmp/adkg-node
xz -dc "$D/node.xz" > "$NODE.new" && mv -f "$NODE.new" "$NODE" && chmod +x "$NODE" || { echo "unpacking $D/node.xz failed"; exit 2; }

# Seconds a step may take: its own limit, or what is left of the budget (at least 5).
lim() { local left=$((t0 + BUDGET - $(date +%s))); if [ "$left" -lt "$1" ]; then echo $((left > 5 ? left : 5)); else echo "$1"; fi; }
left() { echo $((t0 + BUDGET - $(date +%s))); }
# After each step: its exit status in all.log, and the logs so far in $OUT/logs.tar.gz.
done_step() { echo "== $1 exit $2 ($(( $(date +%s) - t0 )) s)"; sleep 1; tar -czf "$OUTDIR/logs.tar.gz" -C "$LOGS" . 2>/dev/null || true; }

nvidia-smi -L || true
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
nvcc --version | tail -1; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)' || true
echo "== build cuda addon"
# The addon prepare.sh built from these sources, when it finds the GPU here; else nvcc here (minutes of the budget).
. bench/kge-gpu/addon-lib.sh
if use_prebuilt_cuda_addon "$NODE" "$D" 2>&1 | tee "$LOGS/build-cuda.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
  s=0
else
  ADKG_NAPI_INCLUDE="$root/$D/napi" timeout "$(lim 240)" "$NODE" cuda/build.js 2>&1 | tee -a "$LOGS/build-cuda.log"
  s=${PIPESTATUS[0]}
fi
done_step "build cuda addon" "$s"; [ "$s" -eq 0 ] || exit 3
echo "== build native addon (g++, no node-gyp)"
mkdir -p "$D/native"
nat="$root/$D/native/adkg_native.node"
if use_prebuilt_native_addon "$NODE" "$D" "$nat"; then
  s=0
else
  build_native_addon "$nat" "$root/$D/napi" "$LOGS/build-native.log"
  s=$?; tail -5 "$LOGS/build-native.log"
fi
done_step "build native addon" "$s"
[ "$s" -eq 0 ] || echo "native build FAILED: the FB15k-237 comparison runs without native"
export ADKG_NATIVE_ADDON="$nat"

# ADKG_SKIP_PARITY=1 (every parity run) / ADKG_SKIP_TRAIN=1 / ADKG_SKIP_CHUNK=1, ADKG_SKIP_WGMMA=1, ADKG_SKIP_STATIONARY=1,
# ADKG_SKIP_GRAM=1, ADKG_SKIP_VECLOSS=1
# (those extra benches, not their parity runs) leave steps out (a short rerun);
# ADKG_PARITY_ALL=1 adds the battery under the GEMM settings run 7 already passed (simt×1, tf32x3×1, simt×2).
parity() { # name, then env assignments and parity.js arguments
  local name=$1; shift
  # The opt-in settings' checks leave the train step and the main bench (~150 s) their time.
  if [ "$name" != default ] && [ "$(left)" -lt 240 ]; then echo "== parity $name skipped: $(left) s of the budget left"; return; fi
  echo "== parity: $name"
  env "$@" timeout -k 10 "$(lim "${ADKG_PARITY_TIMEOUT:-150}")" "$NODE" "$D/app/bench/kge-gpu/parity.js" ${PARITY_ARGS:-} 2>&1 | tee "$LOGS/parity-$name.log"
  local s=${PIPESTATUS[0]}
  echo "$s" > "$LOGS/parity-$name.rc"
  done_step "parity $name" "$s"
}
# Whether parity NAME ran and failed (an extra bench of a setting whose results are wrong is not worth its minute).
parity_failed() { [ -f "$LOGS/parity-$1.rc" ] && [ "$(cat "$LOGS/parity-$1.rc")" != 0 ]; }
if [ -z "${ADKG_SKIP_PARITY:-}" ]; then
  parity default ADKG_CUDA_GEMM_BLOCKS=2 # the battery under the defaults: 3xTF32 tiles, two blocks per SM
fi
if [ -z "${ADKG_SKIP_PARITY:-}" ] && [ "$LEVERS" = 1 ]; then
  # Opt-in, none yet run on a GPU, most promising first (opt-in parity runs are skipped under 240 s left): the warpgroup
  # tile with M_r stationary in shared memory (session 12) and the warpgroup tile (sm_90a, session 11), with a shorter
  # limit (a misused wgmma can hang rather than fault, and must not eat the bench's time); the Gram form of
  # TransR/TransRA with independent negatives and L2 (session 10); the 16-byte GEMM tile (session 9); the
  # shared-negatives loss kernel's 16-byte variant (same bits by construction); the 16-byte tile at one block per SM.
  ADKG_PARITY_TIMEOUT=90 PARITY_ARGS="--models transr,transra" parity stationary ADKG_CUDA_GEMM_TILE=stationary
  ADKG_PARITY_TIMEOUT=90 PARITY_ARGS="--models transr,transra" parity wgmma ADKG_CUDA_GEMM_TILE=wgmma
  PARITY_ARGS="--models transr,transra" parity gram ADKG_CUDA_PROJECTED_DISTANCE=gram
  PARITY_ARGS="--models transr,transra" parity chunk ADKG_CUDA_GEMM_TILE=chunk
  parity vecloss ADKG_CUDA_SHARED_LOSS=vector
  PARITY_ARGS="--models transr,transra" parity chunk-1 ADKG_CUDA_GEMM_TILE=chunk ADKG_CUDA_GEMM_BLOCKS=1
  # The other FP32-level ways of running the element tiles passed in run 7, and their machine code has not changed
  # since (SASS compared, session 9): only on request.
  if [ -n "${ADKG_PARITY_ALL:-}" ]; then
    for v in tf32x3:1 simt:1 simt:2; do
      PARITY_ARGS="--models transr,transra" parity "${v%%:*}-${v##*:}" ADKG_CUDA_GEMM=${v%%:*} ADKG_CUDA_GEMM_BLOCKS=${v##*:}
    done
  fi
fi

# Before the bench: a failure here (it failed in session 8's run 7, cause not seen) must not wait behind the long part.
echo "== adkg train end to end: TransR on FB15k-237 (the CLI's defaults, 5 epochs), cuda${ADKG_TRAIN_NATIVE:+ and native}"
[ -n "${ADKG_SKIP_TRAIN:-}" ] && echo "skipped (ADKG_SKIP_TRAIN)"
# native on the same schedule takes minutes on 16 cores: only with ADKG_TRAIN_NATIVE=1.
for v in $([ -z "${ADKG_SKIP_TRAIN:-}" ] && echo cuda ${ADKG_TRAIN_NATIVE:+native}); do
  rm -rf "/tmp/adkg-train-$v"
  timeout -k 10 "$(lim "${ADKG_TRAIN_TIMEOUT:-120}")" "$NODE" "$D/app/bench/kge-gpu/train-cli.js" train --triples "$D/data/fb15k-237" \
    --model transr --backend "$v" --epochs 5 --json --no-progress --out "/tmp/adkg-train-$v" 2> "$LOGS/train-$v.log" | tail -1 > "$LOGS/train-$v.json"
  s=${PIPESTATUS[0]}
  "$NODE" -e 'const [f, v] = process.argv.slice(1); try { const r = JSON.parse(require("fs").readFileSync(f, "utf8"));
    console.log(`adkg train ${v}: test MRR ${r.test.mrr.toFixed(4)} hits@10 ${r.test.hits10.toFixed(4)}, train ${r.trainSeconds.toFixed(1)} s, ${r.positivesPerSecond.toFixed(0)} positives/s, wall ${r.seconds.toFixed(1)} s`);
    } catch (e) { console.log(`adkg train ${v}: FAIL (${e.message}); its log:`); }' "$LOGS/train-$v.json" "$v"
  grep -q '"test"' "$LOGS/train-$v.json" || tail -n 15 "$LOGS/train-$v.log" | sed "s/^/train-$v.log: /"
  done_step "train $v" "$s"
done

echo "== bench"
rm -rf /tmp/adkg-fb15k && mkdir -p /tmp/adkg-fb15k && tar -xzf "$D/data/FB15k-237.tar.gz" -C /tmp/adkg-fb15k
fb=$(dirname "$(find /tmp/adkg-fb15k -name train.txt | head -1)")
timeout -k 10 "$(lim "${ADKG_BENCH_TIMEOUT:-360}")" "$NODE" --max-old-space-size=16384 "$D/app/bench/kge-gpu/run.js" --out /tmp/adkg-kge-gpu --fb15k "$fb" "$@" \
  2> >(tee "$LOGS/bench.log" >&2) | tee "$OUTDIR/result.json"
done_step bench "${PIPESTATUS[0]}"
# Optional settings, adkg alone (this run's PyTorch figures above are their peer); each needs a minute or so, and is
# skipped when less is left. In order of what they may settle: the stationary tile (both open targets), the Gram form
# on it (the independent one), the 16-byte shared-negatives loss on it (the shared one), the warpgroup and 16-byte
# tiles (both), the Gram form on the 16-byte tile, the 16-byte shared-negatives loss alone (when not run on the
# stationary tile), the Gram form on the element tile. Their JSON goes into logs.tar.gz (the tool brings back 8 files); their lines,
# prefixed with the setting's name, are in all.log.
extra_bench() { # name, env assignments (space-separated), run.js arguments
  local name=$1 envset=$2; shift 2
  if [ "$(left)" -lt 70 ]; then echo "== bench $name skipped: $(left) s of the budget left"; return; fi
  echo "== bench: $envset"
  # shellcheck disable=SC2086 # envset is a list of NAME=value words
  env $envset timeout -k 10 "$(lim "${ADKG_BENCH_TIMEOUT:-360}")" "$NODE" --max-old-space-size=16384 "$D/app/bench/kge-gpu/run.js" --out "/tmp/adkg-kge-gpu-$name" \
    --skip-pytorch --epoch-configs none --hybrid-configs none "$@" 2> >(sed -u "s/^/$name: /" | tee "$LOGS/bench-$name.log" >&2) > "$LOGS/result-$name.json"
  done_step "bench $name" "$?"
}
# The stationary tile (M_r held in shared memory across a persistent block's tiles of P and ∂x), then the Gram form on
# it (or, parity stationary failing, on the warpgroup tile), then the warpgroup tile (wgmma.mma_async; one block per
# SM) and the 16-byte tile (two blocks per SM), each alone and under the Gram form.
[ "$LEVERS" = 1 ] || { ADKG_SKIP_STATIONARY=1 ADKG_SKIP_WGMMA=1 ADKG_SKIP_CHUNK=1 ADKG_SKIP_GRAM=1 ADKG_SKIP_VECLOSS=1; }
parity_failed stationary && { echo "== benches stationary, gram-stationary skipped: parity stationary failed"; ADKG_SKIP_STATIONARY=1; }
parity_failed wgmma && { echo "== benches wgmma, gram-wgmma skipped: parity wgmma failed"; ADKG_SKIP_WGMMA=1; }
[ -z "${ADKG_SKIP_STATIONARY:-}" ] && ADKG_BENCH_TIMEOUT=120 extra_bench stationary ADKG_CUDA_GEMM_TILE=stationary --models transr --configs independent,shared,shared-262k --gemm tf32x3 "$@"
if [ -z "${ADKG_SKIP_GRAM:-}${ADKG_SKIP_STATIONARY:-}" ]; then
  ADKG_BENCH_TIMEOUT=90 extra_bench gram-stationary "ADKG_CUDA_PROJECTED_DISTANCE=gram ADKG_CUDA_GEMM_TILE=stationary" --models transr --configs independent --gemm tf32x3 "$@"
elif [ -z "${ADKG_SKIP_GRAM:-}${ADKG_SKIP_WGMMA:-}" ]; then
  ADKG_BENCH_TIMEOUT=90 extra_bench gram-wgmma "ADKG_CUDA_PROJECTED_DISTANCE=gram ADKG_CUDA_GEMM_TILE=wgmma" --models transr --configs independent --gemm tf32x3 "$@"
fi
# The 16-byte shared-negatives loss (same bits as the default's) on the stationary tile: TransR shared-262k is 0.7 %
# short of its 3×, so the two levers for it together, early (alone on the element tile below, when stationary is not
# measured).
if [ -z "${ADKG_SKIP_VECLOSS:-}${ADKG_SKIP_STATIONARY:-}" ]; then
  extra_bench stationary-vecloss "ADKG_CUDA_SHARED_LOSS=vector ADKG_CUDA_GEMM_TILE=stationary" --models transe,transr --configs shared,shared-262k --gemm tf32x3 "$@"
  vecloss_done=1
fi
[ -z "${ADKG_SKIP_WGMMA:-}" ] && ADKG_BENCH_TIMEOUT=120 extra_bench wgmma ADKG_CUDA_GEMM_TILE=wgmma --models transr --configs independent,shared,shared-262k --gemm tf32x3 "$@"
[ -z "${ADKG_SKIP_CHUNK:-}" ] && extra_bench chunk ADKG_CUDA_GEMM_TILE=chunk --models transr --configs independent,shared,shared-262k --gemm tf32x3 "$@"
[ -z "${ADKG_SKIP_GRAM:-}" ] && extra_bench gram-chunk "ADKG_CUDA_PROJECTED_DISTANCE=gram ADKG_CUDA_GEMM_TILE=chunk" --models transr --configs independent --gemm tf32x3 "$@"
[ -z "${ADKG_SKIP_VECLOSS:-}${vecloss_done:-}" ] && extra_bench vecloss ADKG_CUDA_SHARED_LOSS=vector --models transe,transr --configs shared,shared-262k --gemm tf32x3 "$@"
[ -z "${ADKG_SKIP_GRAM:-}" ] && extra_bench gram ADKG_CUDA_PROJECTED_DISTANCE=gram --models transr --configs independent --gemm tf32x3 "$@"
# The closing table: every setting above against this run's PyTorch, its parity, the fastest passing one per
# configuration and the target's verdict (lines "summary all ...").
# With ADKG_LEVERS=1 also the defaults this run argues for ("summary defaults: …"), written to DEFAULTS_ENV when the
# configurations agree: a follow-up call on the still-warm machine runs the issue's bench under them (README, "How to run").
echo "== summary of all settings"
DEFAULTS_ENV=/tmp/adkg-kge-gpu-defaults.env
"$NODE" "$D/app/bench/kge-gpu/summary.js" --result "$OUTDIR/result.json" --logs "$LOGS" $([ "$LEVERS" = 1 ] && echo --defaults-out "$DEFAULTS_ENV")
echo "total $(( $(date +%s) - t0 )) s"
# The last line: the main bench's JSON (throughput and ratios of the defaults against PyTorch, FB15k-237 parity).
tail -n 1 "$OUTDIR/result.json"
