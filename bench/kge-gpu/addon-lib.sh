# Sourced by prepare.sh (dev machine), run.sh and diag.sh (GPU machine): the addons built on the dev machine and
# carried in .device/prebuilt, used on the GPU machine when they were built from the same sources and load there (the
# cuda one finding the GPU). nvcc takes ~3.3 CPU minutes for the cuda addon (2-core dev box, nvcc 13.5, 2026-11-29;
# ten units compiled at once, the longest ~31 s) and g++ ~30 s for the native addon: device time the benches need
# more. Building there stays the fallback (another driver or C++ runtime, other sources).

# A digest of every file the addons are built from (cuda/build.js compiles cuda/src, which includes native/src headers).
prebuilt_digest() {
  find cuda/src native/src cuda/build.js -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16
}

# The native addon with g++ alone (no node-gyp or npm there): the same units and per-file flags (ISA; no FMA
# contraction for rowwise.cc) as native/binding.gyp. Args: output file, Node-API header folder, log file.
build_native_addon() {
  local out=$1 napi=$2 log=$3 obj
  obj=$(mktemp -d)
  rm -f "$out" # a failed build must not leave an older addon to be measured
  local flags="-std=c++17 -O3 -fPIC -pthread -fno-math-errno -fno-trapping-math -ffp-contract=fast -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -I$napi"
  # shellcheck disable=SC2086 # flags is a list of words
  ( g++ $flags -Wno-psabi -mavx2 -mfma -c native/src/kernels_avx2.cc -o "$obj/avx2.o" &&
    g++ $flags -Wno-psabi -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma -mprefer-vector-width=512 -c native/src/kernels_avx512.cc -o "$obj/avx512.o" &&
    g++ $flags -ffp-contract=off -c native/src/rowwise.cc -o "$obj/rowwise.o" &&
    g++ $flags -Wno-psabi -shared -o "$out" native/src/addon.cc native/src/thread_pool.cc native/src/kernels_generic.cc native/src/dispatch.cc native/src/engine.cc "$obj/avx2.o" "$obj/avx512.o" "$obj/rowwise.o" ) > "$log" 2>&1
  local s=$?
  rm -rf "$obj"
  return $s
}

# prepare.sh: an nvcc for the cuda build. One already here (ADKG_NVCC, CUDA_HOME, PATH, /usr/local/cuda) serves;
# otherwise CUDA 13's compiler from PyPI into an ignored venv (ADKG_CUDA_VENV, default .cuda-venv; ~380 MB, once),
# exported as CUDA_HOME. Major version 13: its machine code runs on the R580+ drivers of the GPU machines seen.
find_or_install_nvcc() { # log file
  if [ -n "${ADKG_NVCC:-}${CUDA_HOME:-}" ] || command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then return 0; fi
  local venv=${ADKG_CUDA_VENV:-$(pwd)/.cuda-venv} home
  home=$(ls -d "$venv"/lib/python3*/site-packages/nvidia/cu13 2> /dev/null | head -1)
  if [ -z "$home" ] || [ ! -x "$home/bin/nvcc" ]; then
    echo "prepare: no nvcc here; installing CUDA 13's compiler from PyPI into $venv (once; log $1)"
    python3 -m venv "$venv" > "$1" 2>&1 &&
      "$venv/bin/pip" install 'nvidia-cuda-nvcc>=13,<14' 'nvidia-nvvm>=13,<14' 'nvidia-cuda-crt>=13,<14' \
        'nvidia-cuda-runtime>=13,<14' 'nvidia-cuda-cccl>=13,<14' >> "$1" 2>&1 || return 1
    home=$(ls -d "$venv"/lib/python3*/site-packages/nvidia/cu13 2> /dev/null | head -1)
    [ -n "$home" ] && [ -x "$home/bin/nvcc" ] || { echo "prepare: no nvcc in $venv after pip install" >> "$1"; return 1; }
  fi
  export CUDA_HOME=$home
}

# prepare.sh: both addons built here into $1/prebuilt (the cuda one when nvcc is at hand or installable; ADKG_PREBUILT=0:
# neither).
prebuild_addons() {
  local dir=$1/prebuilt log=/tmp/adkg-prebuild.log
  rm -rf "$dir"
  if [ "${ADKG_PREBUILT:-1}" = 0 ]; then echo "prepare: no prebuilt addons (ADKG_PREBUILT=0): run.sh builds them there"; return 0; fi
  mkdir -p "$dir"
  prebuilt_digest > "$dir/SOURCES"
  if build_native_addon "$dir/adkg_native.node" "$1/napi" "$log.native"; then
    echo "prepare: prebuilt native addon"
  else
    echo "prepare: no prebuilt native addon (g++ failed, $log.native): run.sh builds it there"
  fi
  if ! find_or_install_nvcc "$log.pip"; then
    echo "prepare: no prebuilt cuda addon (no nvcc, and pip could not install one: $log.pip): run.sh builds it on the GPU machine"
    return 0
  fi
  echo "prepare: building the cuda addon here (log $log; minutes on 2 cores; ADKG_PREBUILT=0 skips)"
  if ! node cuda/build.js > "$log" 2>&1; then
    echo "prepare: no prebuilt cuda addon ($(grep -m1 'build failed' "$log" || tail -1 "$log")): run.sh builds it on the GPU machine"
    return 0
  fi
  cp cuda/build/Release/adkg_cuda.node "$dir/"
  grep -m1 'building the cuda backend with' "$log" | sed 's/^adkg: //' > "$dir/BUILT"
  echo "prepare: prebuilt cuda addon $(cat "$dir/SOURCES"): $(cat "$dir/BUILT")"
}

# Whether $2/prebuilt/$3 is there and of the carried sources; says why not.
prebuilt_current() { # .device folder, file name
  local dir=$1/prebuilt want have
  [ -f "$dir/$2" ] || { echo "no prebuilt $2 in $dir: building here"; return 1; }
  want=$(cat "$dir/SOURCES" 2>/dev/null) have=$(prebuilt_digest)
  [ "$want" = "$have" ] || { echo "prebuilt $2 is of other sources ($want, these are $have): building here"; return 1; }
}

# run.sh / diag.sh: install the carried cuda addon in cuda/build/Release when it is current, finds a device and trains
# TransR at the bench's shape as js does there (parity.js --smoke: its kernels load on this driver); otherwise say why
# and return 1 (the caller builds).
use_prebuilt_cuda_addon() { # node binary, .device folder
  local node=$1 dir=$2/prebuilt out
  case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
  prebuilt_current "$2" adkg_cuda.node || return 1
  if ! "$node" -e 'const i = require(process.argv[1]).info();
    console.log(i.ok ? `prebuilt cuda addon finds ${i.device}, cc ${i.computeCapability}` : `prebuilt cuda addon: ${i.reason}`);
    process.exit(i.ok ? 0 : 1);' "$dir/adkg_cuda.node"; then
    echo "building here"
    return 1
  fi
  if ! out=$(ADKG_CUDA_ADDON="$dir/adkg_cuda.node" timeout -k 5 "${ADKG_SMOKE_TIMEOUT:-120}" "$node" "$2/app/bench/kge-gpu/parity.js" --smoke 2>&1); then
    printf '%s\n' "$out" | tail -n 4 | sed 's/^/prebuilt cuda addon smoke: /'
    echo "building here"
    return 1
  fi
  echo "prebuilt cuda addon smoke: $(printf '%s\n' "$out" | tail -n 1)"
  mkdir -p cuda/build/Release
  cp "$dir/adkg_cuda.node" cuda/build/Release/adkg_cuda.node
  echo "using the prebuilt cuda addon ($(cat "$dir/SOURCES"); $(cat "$dir/BUILT" 2>/dev/null))"
}

# run.sh: copy the carried native addon to $3 when it is current and loads; otherwise say why and return 1.
use_prebuilt_native_addon() { # node binary, .device folder, destination
  local node=$1 dir=$2/prebuilt
  case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
  prebuilt_current "$2" adkg_native.node || return 1
  "$node" -e 'require(process.argv[1])' "$dir/adkg_native.node" || { echo "prebuilt native addon does not load: building here"; return 1; }
  cp "$dir/adkg_native.node" "$3"
  echo "using the prebuilt native addon ($(cat "$dir/SOURCES"))"
}
