#!/usr/bin/env bash
# Run HERE (the dev machine with Node and node_modules) before the GPU run: fills .device/ (ignored by git,
# carried to the GPU machine) with what that machine lacks: a Node binary, the Node-API headers, the bench
# compiled to JS (with the one runtime npm package it needs), and FB15k-237.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
D=.device
# The app is built in app.tmp and moved into place last, with a STAMP that run.sh requires: an interrupted or failed
# prepare leaves no app that looks complete.
rm -rf "$D/app" "$D/app.tmp" "$D/napi"
mkdir -p "$D/napi" "$D/app.tmp/node_modules" "$D/data"
[ -f "$D/node.xz" ] || bash "${ADKG_SHARED:-$root/../shared}/tools/device-node.sh" "$D"
cp node_modules/node-addon-api/*.h "$D/napi/"
cp node_modules/node-api-headers/include/*.h "$D/napi/"
npx tsc -p bench/kge-gpu/tsconfig.json --outDir "$D/app.tmp"
cp bench/kge-gpu/pytorch_kge_gpu.py "$D/app.tmp/bench/kge-gpu/"
# src/kge/progress.ts needs cli-progress at run time (and it needs string-width and friends); train-cli.js
# needs commander and graphology (TransRA's anchor selection).
for p in cli-progress string-width strip-ansi ansi-regex emoji-regex is-fullwidth-code-point commander graphology graphology-types events obliterator; do
  # obliterator: an optional graphology dependency that some installs lack.
  if [ -d "node_modules/$p" ]; then cp -r "node_modules/$p" "$D/app.tmp/node_modules/"; elif [ "$p" != obliterator ]; then echo "prepare: node_modules/$p is missing (npm install?)"; exit 2; fi
done
cp -f "${ADKG_SHARED:-$root/../shared}/datasets/kg/FB15k-237.tar.gz" "$D/data/"
# The TripleSet `adkg train` reads (run.sh trains on it with --backend cuda and native).
rm -rf "$D/data/fb15k-237"
node bin/adkg.js dataset import fb15k-237 "$D/data/FB15k-237.tar.gz" --out "$D/data/fb15k-237" >/dev/null
# The addons built here (the cuda one with nvcc from CUDA_HOME, PATH or ADKG_NVCC), which run.sh uses when their
# sources match and they load there.
. bench/kge-gpu/addon-lib.sh
prebuild_addons "$D"
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench cuda native || echo '+uncommitted') $(date -u +%FT%TZ)" > "$D/app.tmp/STAMP"
mv "$D/app.tmp" "$D/app"
du -sh "$D"
