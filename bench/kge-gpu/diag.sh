#!/usr/bin/env bash
# Run ON THE GPU MACHINE, a short diagnostic between full runs (~2–3 minutes): builds the cuda addon, runs the device
# battery under the default GEMM math, measures adkg alone (no PyTorch, so no ratios) on a few settings with the
# per-phase profile, and, where Nsight Compute (ncu) is installed and may read the counters, profiles one step of
# each hot kernel (speed of light, occupancy, warp stall reasons) into $OUT/ncu.txt. Needs .device/ from
# bench/kge-gpu/prepare.sh. Options after diag.sh go to run.js (defaults below).
#   run(command="bash bench/kge-gpu/diag.sh > $OUT/diag.log 2>&1; grep -E 'FAIL|passed|adkg cuda|summary|ncu:' $OUT/diag.log", carry=[".device"], timeout_s=300)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
D=.device
OUTDIR="${OUT:-/tmp/adkg-kge-gpu-out}"
mkdir -p "$OUTDIR"
[ -f "$D/node.xz" ] && [ -f "$D/app/STAMP" ] || { echo "missing $D/node.xz or a complete $D/app (no STAMP): run bench/kge-gpu/prepare.sh on the dev machine and carry .device"; exit 2; }
echo "prepared: $(cat "$D/app/STAMP")"
NODE=/tmp/adkg-node
xz -dc "$D/node.xz" > "$NODE.new" && mv -f "$NODE.new" "$NODE" && chmod +x "$NODE" || { echo "unpacking $D/node.xz failed"; exit 2; }
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
nvidia-smi -L || true
start=$(date +%s)
echo "== build cuda addon"
. bench/kge-gpu/addon-lib.sh
use_prebuilt_cuda_addon "$NODE" "$D" || { ADKG_NAPI_INCLUDE="$root/$D/napi" "$NODE" cuda/build.js 2>&1 | tee "$OUTDIR/build-cuda.log" | tail -2; [ "${PIPESTATUS[0]}" -eq 0 ] || exit 3; }
echo "== parity: cuda (default math) vs js"
timeout 150 "$NODE" "$D/app/bench/kge-gpu/parity.js" 2>&1 | tee "$OUTDIR/parity.log" | grep -E "^FAIL|passed"
echo "== adkg alone ($(( $(date +%s) - start )) s)"
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--models transe,transr --configs shared,shared-262k,independent --gemm tf32x3,tf32 --steps 10 --warmup 3)
timeout 200 "$NODE" --max-old-space-size=16384 "$D/app/bench/kge-gpu/run.js" --out /tmp/adkg-kge-diag --skip-pytorch \
  --epoch-configs none --hybrid-configs none "${args[@]}" 2> >(tee "$OUTDIR/bench.log" >&2) > "$OUTDIR/result.json"
NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ]; then
  echo "== ncu: $NCU ($(( $(date +%s) - start )) s)"
  # One training step per setting (warm-up 1, timed 1): the first matching launches are TransR shared-262k's
  # kernels, then independent's. Smaller graph than the bench (the kernels see the same shapes per batch).
  timeout 150 "$NCU" --target-processes all -k 'regex:projectKernel|projectBack|groupLossKernel|independentLossKernel|gramLossKernel|gramPrepare|gramFinish|entityStepKernel' \
    --launch-count 24 --section SpeedOfLight --section Occupancy --section WarpStateStats --section SchedulerStats \
    --section LaunchStats --section MemoryWorkloadAnalysis \
    "$NODE" --max-old-space-size=16384 "$D/app/bench/kge-gpu/run.js" --out /tmp/adkg-kge-ncu --skip-pytorch --epoch-configs none \
    --hybrid-configs none --models transr --configs shared-262k,independent --gemm tf32x3 --steps 1 --warmup 1 \
    --triples 2000000 > "$OUTDIR/ncu.txt" 2>&1
  echo "ncu: exit $? ($(wc -l < "$OUTDIR/ncu.txt") lines)"
  grep -E "==PROF==|ERR_NVGPUCTRPERM|permission" "$OUTDIR/ncu.txt" | head -3 | sed 's/^/ncu: /'
else
  echo "ncu: not installed"
fi
echo "total $(( $(date +%s) - start )) s"
# The run tool brings back at most 8 files from $OUT: the other logs travel in one archive.
( cd "$OUTDIR" && files=$(ls | grep -vE '^(all\.log|diag\.log|result\.json|ncu\.txt|logs\.tar\.gz)$') && [ -n "$files" ] && tar -czf logs.tar.gz --remove-files $files ) || true
