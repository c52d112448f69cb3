# The adkg native KGE backend (N-API). Built by scripts/build-native.js (node-gyp --directory native).
# Kernels are compiled three times: a portable baseline (x86-64 / arm64), AVX2+FMA and AVX-512, the best
# one the CPU runs chosen at load time, so one binary runs everywhere and is fast where it can be.
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
      'target_name': 'adkg_kernels_avx512',
      'type': 'static_library',
      'sources': ['src/kernels_avx512.cc'],
      'cflags!': ['-fno-exceptions', '-O2', '-O0'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-O2', '-O0'],
      'conditions': [
        ['target_arch=="x64"', {
          'cflags_cc': ['-std=c++17', '<@(adkg_common_cflags)', '-mavx512f', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma', '-mprefer-vector-width=512', '-ffp-contract=fast'],
        }, {
          'cflags_cc': ['-std=c++17', '<@(adkg_common_cflags)', '-DADKG_NO_AVX2_BUILD'],
        }],
      ],
    },
    {
      # The LID tables' row-wise optimizer step: no FMA contraction, so it rounds as the JS reference does.
      'target_name': 'adkg_rowwise',
      'type': 'static_library',
      'sources': ['src/rowwise.cc'],
      'cflags!': ['-fno-exceptions', '-O2', '-O0'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-O2', '-O0'],
      'cflags_cc': ['-std=c++17', '<@(adkg_common_cflags)', '-ffp-contract=off'],
    },
    {
      'target_name': 'adkg_native',
      'dependencies': ['adkg_kernels_avx2', 'adkg_kernels_avx512', 'adkg_rowwise'],
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
