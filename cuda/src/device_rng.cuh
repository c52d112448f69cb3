// Counter-based RNG on the device: a bit-exact mirror of src/common/rng.ts and native/src/rng.h
// (lowbias32 applied three times). Keep the three in step: cuda must draw the negatives js draws.
#pragma once
#include <cstdint>

namespace adkg_cuda {

__host__ __device__ __forceinline__ uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// hash32(hash32(seed ^ golden) ^ stream): counterUint32(seed, stream, c) = hash32(streamKey ^ c).
__host__ __device__ __forceinline__ uint32_t streamKey(uint32_t seed, uint32_t stream) {
  return hash32(hash32(seed ^ 0x9e3779b9u) ^ stream);
}

// floor((u / 2^32) · n) in IEEE double, as rng.ts's counterInt (not a 64-bit multiply-shift).
__host__ __device__ __forceinline__ uint32_t scaleToInt(uint32_t u, double n) {
  return (uint32_t)floor(((double)u / 4294967296.0) * n);
}

__host__ __device__ __forceinline__ double toUnitFloat(uint32_t u) { return (double)u / 4294967296.0; }

// backend.ts negativeStream(epoch, purpose) = (epoch·8 + purpose) mod 2^32.
__host__ __device__ __forceinline__ uint32_t negativeStream(uint32_t epoch, uint32_t purpose) {
  return (uint32_t)((uint64_t)epoch * 8u + purpose);
}

constexpr uint32_t PURPOSE_SIDE = 1, PURPOSE_ENTITY = 2;  // backend.ts RNG_PURPOSE

}  // namespace adkg_cuda
