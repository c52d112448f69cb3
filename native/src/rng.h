// Counter-based RNG, a bit-exact mirror of src/common/rng.ts (hash32 "lowbias32", applied as there).
// Keep the two in step: the js and native backends must draw identical negatives.
#pragma once
#include <cmath>
#include <cstdint>

namespace adkg {

static inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

static inline uint32_t counterUint32(uint32_t seed, uint32_t stream, uint32_t counter) {
  return hash32(hash32(hash32(seed ^ 0x9e3779b9u) ^ stream) ^ counter);
}

// The per-(seed, stream) prefix, hoisted out of hot loops: counterUint32 = hash32(prefix ^ counter).
static inline uint32_t streamKey(uint32_t seed, uint32_t stream) { return hash32(hash32(seed ^ 0x9e3779b9u) ^ stream); }

// Same double arithmetic as rng.ts's Math.floor((u / 2^32) * n), so results agree for every n ≤ 2^32.
static inline uint32_t scaleToInt(uint32_t u, double n) {
  return (uint32_t)std::floor(((double)u / 4294967296.0) * n);
}

static inline double toUnitFloat(uint32_t u) { return (double)u / 4294967296.0; }

}  // namespace adkg
