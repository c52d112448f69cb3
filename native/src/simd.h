// Portable SIMD on GCC/Clang vector extensions: 8 float lanes. In the AVX2 translation unit (-mavx2 -mfma)
// they become ymm registers with FMA; in the baseline unit two SSE (or NEON) registers. No intrinsics,
// so the same kernel source builds everywhere. Everything here has internal linkage on purpose: the file
// is compiled into two units with different instruction sets, and nothing may be shared between them.
#pragma once
#include <cstdint>
#include <cstring>

namespace {

typedef float vf8 __attribute__((vector_size(32)));
constexpr int W = 8;

inline vf8 load8(const float* p) {
  vf8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, vf8 v) { __builtin_memcpy(p, &v, sizeof v); }
inline vf8 splat8(float x) { return vf8{x, x, x, x, x, x, x, x}; }
inline float hsum8(vf8 v) {
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}
inline vf8 abs8(vf8 v) {
  typedef int32_t vi8 __attribute__((vector_size(32)));
  vi8 bits;
  __builtin_memcpy(&bits, &v, sizeof v);
  bits &= (vi8){0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
  vf8 out;
  __builtin_memcpy(&out, &bits, sizeof out);
  return out;
}
// sign(v) with sign(0) = 0, as the L1 subgradient.
inline vf8 sign8(vf8 v) {
  vf8 zero = splat8(0.f), one = splat8(1.f);
  typedef int32_t vi8 __attribute__((vector_size(32)));
  vi8 pos = v > zero, neg = v < zero;
  vf8 p, n;
  vi8 onebits;
  __builtin_memcpy(&onebits, &one, sizeof one);
  vi8 pb = pos & onebits, nb = neg & onebits;
  __builtin_memcpy(&p, &pb, sizeof p);
  __builtin_memcpy(&n, &nb, sizeof n);
  return p - n;
}

inline float fsqrt(float x) { return __builtin_sqrtf(x); }
inline float fabsf_(float x) { return __builtin_fabsf(x); }

// sum_i a[i]*b[i]
inline float dot(const float* a, const float* b, int n) {
  vf8 s0 = splat8(0.f), s1 = splat8(0.f);
  int i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += load8(a + i) * load8(b + i);
    s1 += load8(a + i + W) * load8(b + i + W);
  }
  for (; i + W <= n; i += W) s0 += load8(a + i) * load8(b + i);
  float s = hsum8(s0 + s1);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

// y += a*x
inline void axpy(float* y, float a, const float* x, int n) {
  vf8 va = splat8(a);
  int i = 0;
  for (; i + W <= n; i += W) store8(y + i, load8(y + i) + va * load8(x + i));
  for (; i < n; i++) y[i] += a * x[i];
}

inline void zero(float* y, int n) { __builtin_memset(y, 0, sizeof(float) * (size_t)n); }

}  // namespace
