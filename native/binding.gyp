# The adkg native KGE backend (N-API). Built by scripts/build-native.js (node-gyp --directory native).
# Kernels are compiled twice: a portable baseline (x86-64 / arm64) and an AVX2+FMA build chosen at run time
# when the CPU has it, so one binary runs everywhere and is fast where it can be.
{
  'variables': {
    'adkg_common_cflags': ['-O3', '-fno-math-errno', '-fno-trapping-math', '-fPIC', '-pthread', '-Wall', '-Wno-unused-function', '-Wno-psabi'],
  },
  'targets': [
    {
      'target_name': 'adkg_kernels_avx2',
      'type': 'static_library',
      'sources': ['src/kernels_avx2.cc'],
      'cflags!': ['-fno-exceptions', '-O2', '-O0'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-O2', '-O0'],
      'conditions': [
        ['target_arch=="x64"', {
          'cflags_cc': ['-std=c++17', '<@(adkg_common_cflags)', '-mavx2', '-mfma', '-ffp-contract=fast'],
        }, {
          'cflags_cc': ['-std=c++17', '<@(adkg_common_cflags)', '-DADKG_NO_AVX2_BUILD'],
        }],
      ],
    },
    {
      'target_name': 'adkg_native',
      'dependencies': ['adkg_kernels_avx2'],
      'sources': [
        'src/addon.cc',
        'src/thread_pool.cc',
        'src/kernels_generic.cc',
        'src/dispatch.cc',
        'src/engine.cc',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags!': ['-fno-exceptions', '-O2', '-O0'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-O2', '-O0'],
      'cflags_cc': ['-std=c++17', '<@(adkg_common_cflags)', '-ffp-contract=fast'],
      'ldflags': ['-pthread'],
    },
  ],
}
