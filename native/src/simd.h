// Portable SIMD on GCC/Clang vector extensions: ADKG_LANES float lanes (4 in the baseline unit, the
// SSE/NEON width; 8 in the AVX2 unit; 16 in the AVX-512 unit), each one hardware register, so the GEMM's
// register tile does not spill. No intrinsics, so the same kernel source builds everywhere. Everything
// here has internal linkage on purpose: the file is compiled into one unit per instruction set, and
// nothing may be shared between them.
#pragma once
#include <cstdint>
#include <cstring>

namespace {

#ifndef ADKG_LANES
#define ADKG_LANES 8
#endif
constexpr int W = ADKG_LANES;
typedef float vf8 __attribute__((vector_size(4 * ADKG_LANES)));  // "vf8": a vector of W floats
typedef int32_t vi8 __attribute__((vector_size(4 * ADKG_LANES)));

inline vf8 load8(const float* p) {
  vf8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, vf8 v) { __builtin_memcpy(p, &v, sizeof v); }
inline vf8 splat8(float x) { return x - (vf8){}; }
// Horizontal sum by halving with shuffles (log2 W vector adds, no trip through memory).
inline float hsum8(vf8 v) {
#if ADKG_LANES == 16
  v += __builtin_shuffle(v, (vi8){8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
  v += __builtin_shuffle(v, (vi8){4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3});
  v += __builtin_shuffle(v, (vi8){2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1});
  v += __builtin_shuffle(v, (vi8){1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0});
#elif ADKG_LANES == 4
  v += __builtin_shuffle(v, (vi8){2, 3, 0, 1});
  v += __builtin_shuffle(v, (vi8){1, 0, 1, 0});
#else
  v += __builtin_shuffle(v, (vi8){4, 5, 6, 7, 0, 1, 2, 3});
  v += __builtin_shuffle(v, (vi8){2, 3, 0, 1, 2, 3, 0, 1});
  v += __builtin_shuffle(v, (vi8){1, 0, 1, 0, 1, 0, 1, 0});
#endif
  return v[0];
}
inline vf8 abs8(vf8 v) {
  vi8 bits;
  __builtin_memcpy(&bits, &v, sizeof v);
  bits &= 0x7fffffff;
  vf8 out;
  __builtin_memcpy(&out, &bits, sizeof out);
  return out;
}
// sign(v) with sign(0) = 0, as the L1 subgradient.
inline vf8 sign8(vf8 v) {
  vf8 zero = splat8(0.f), one = splat8(1.f);
  vi8 pos = v > zero, neg = v < zero;
  vf8 p, n;
  vi8 onebits;
  __builtin_memcpy(&onebits, &one, sizeof one);
  vi8 pb = pos & onebits, nb = neg & onebits;
  __builtin_memcpy(&p, &pb, sizeof p);
  __builtin_memcpy(&n, &nb, sizeof n);
  return p - n;
}

// Eight floats widened to doubles: l1 residuals h + r − t of float inputs are exact in double, so their
// signs (and zeros) are those of the float64 reference.
typedef float vf8h __attribute__((vector_size(32)));
typedef double vd8 __attribute__((vector_size(64)));
typedef int64_t vl8 __attribute__((vector_size(64)));
inline vd8 loadD8(const float* p) {
  vf8h f;
  __builtin_memcpy(&f, p, sizeof f);
  return __builtin_convertvector(f, vd8);
}
inline vf8h loadH8(const float* p) {
  vf8h f;
  __builtin_memcpy(&f, p, sizeof f);
  return f;
}
inline void storeH8(float* p, vf8h v) { __builtin_memcpy(p, &v, sizeof v); }
inline vd8 absD8(vd8 v) {
  vl8 bits;
  __builtin_memcpy(&bits, &v, sizeof v);
  bits &= 0x7fffffffffffffffLL;
  vd8 out;
  __builtin_memcpy(&out, &bits, sizeof out);
  return out;
}
inline double hsumD8(vd8 v) {
  v += __builtin_shuffle(v, (vl8){4, 5, 6, 7, 0, 1, 2, 3});
  v += __builtin_shuffle(v, (vl8){2, 3, 0, 1, 2, 3, 0, 1});
  v += __builtin_shuffle(v, (vl8){1, 0, 1, 0, 1, 0, 1, 0});
  return v[0];
}
// sign(v) as floats, sign(0) = 0
inline vf8h signH8(vd8 v) {
  vd8 zero = {};
  vl8 s = (v < zero) - (v > zero);  // comparisons give −1 where true
  return __builtin_convertvector(s, vf8h);
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

// Prefetches every cache line of a row (a 128-float row is 8 lines; one prefetch would fetch one or two).
inline void prefetchRow(const void* p, int floats) {
  const char* c = (const char*)p;
  for (int off = 0; off < floats * 4; off += 64) __builtin_prefetch(c + off);
}
inline void prefetchRowW(void* p, int floats) {
  char* c = (char*)p;
  for (int off = 0; off < floats * 4; off += 64) __builtin_prefetch(c + off, 1);
}

inline void zero(float* y, int n) { __builtin_memset(y, 0, sizeof(float) * (size_t)n); }

}  // namespace
