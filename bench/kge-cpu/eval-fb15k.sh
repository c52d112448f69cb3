#!/usr/bin/env bash
# Compiles and runs bench/kge-cpu/eval-fb15k.ts (evaluation time on FB15k-237 with the native backend).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build/bench-kge-cpu"  # inside the repo (ignored) so node_modules resolve
cd "$root"
npx tsc -p bench/kge-cpu/tsconfig.json --outDir "$out"
ADKG_NATIVE_ADDON="${ADKG_NATIVE_ADDON:-$root/native/build/Release/adkg_native.node}" node "$out/bench/kge-cpu/eval-fb15k.js" "$@"
