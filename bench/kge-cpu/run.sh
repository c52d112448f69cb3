#!/usr/bin/env bash
# Compiles the bench (and the src it uses) to build/bench-kge-cpu and runs it; arguments go to run.ts.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build/bench-kge-cpu"  # inside the repo (ignored) so node_modules resolve
cd "$root"
npx tsc -p bench/kge-cpu/tsconfig.json --outDir "$out"
# The compiled bench finds the addon from the repo root (ADKG_NATIVE_ADDON), and the python peer beside it.
cp bench/kge-cpu/pytorch_kge.py "$out/bench/kge-cpu/"
ADKG_NATIVE_ADDON="${ADKG_NATIVE_ADDON:-$root/native/build/Release/adkg_native.node}" node "$out/bench/kge-cpu/run.js" "$@"
