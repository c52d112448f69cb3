// Host check of the tensor-core GEMM tile's arithmetic (kernels.cu mmaGemmTile) with no GPU: one block's
// 8 warps × 32 lanes are emulated step by step — the fetch/stash into shared tiles, the fragment reads
// through mma_layout.h, mma.sync.m16n8k8 as the PTX ISA defines it (fragment layouts typed here from the
// ISA's tables, independently of mma_layout.h), TF32 rounding as cvt.rna does it, and the epilogue's swap
// with lane ^ 1 — and the tile's 128×128 outputs are compared with a double-precision product. Every warp-wide
// shared-memory access (stash and fragment reads) is also checked for bank conflicts.
// Prints one JSON line per case and exits 1 when a check fails. Built and run by test/cuda-mma-layout.test.ts.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "../src/mma_layout.h"

using namespace adkg_cuda;

namespace {

constexpr int BLOCK = 256, MK = mma::K_STEP, TILE = 128;
enum { TF32X3 = 1, TF32 = 2 };

// The kernel's rounding to TF32 (mma_layout.h), on a float.
uint32_t tf32Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return mma::tf32Round(u);
}
float asFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 over a warp, D = A·B + C, with the ISA's layouts
// (g = lane / 4, t = lane % 4):
//   A: a0 row g col t; a1 row g+8 col t; a2 row g col t+4; a3 row g+8 col t+4
//   B: b0 row t col g; b1 row t+4 col g
//   C: c0 row g col 2t; c1 row g col 2t+1; c2 row g+8 col 2t; c3 row g+8 col 2t+1
void warpMma(float acc[32][4], const uint32_t a[32][4], const uint32_t b[32][2]) {
  float A[16][8], B[8][8];
  for (int lane = 0; lane < 32; lane++) {
    const int g = lane / 4, t = lane % 4;
    const int aRows[4] = {g, g + 8, g, g + 8}, aCols[4] = {t, t, t + 4, t + 4};
    for (int r = 0; r < 4; r++) A[aRows[r]][aCols[r]] = asFloat(a[lane][r]);
    B[t][g] = asFloat(b[lane][0]);
    B[t + 4][g] = asFloat(b[lane][1]);
  }
  for (int lane = 0; lane < 32; lane++) {
    const int g = lane / 4, t = lane % 4;
    const int cRows[4] = {g, g, g + 8, g + 8}, cCols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int r = 0; r < 4; r++) {
      float s = 0.f;  // TF32 products are exact in FP32
      for (int q = 0; q < 8; q++) s += A[cRows[r]][q] * B[q][cCols[r]];
      acc[lane][r] += s;
    }
  }
}

// The kernel's three (3xTF32) or one (TF32) mma.sync on a warp's piece (i, j), into acc (as the emulators keep it).
void pieceMma(int math, std::vector<float>& acc, int warp, int i, int j, const uint32_t (&aBig)[32][4], const uint32_t (&aSmall)[32][4],
              const uint32_t (&bBig)[32][2], const uint32_t (&bSmall)[32][2]) {
  float c[32][4];
  auto accAt = [&](int lane) { return &acc[(((warp * 32 + lane) * mma::MI + i) * mma::NJ + j) * 4]; };
  for (int lane = 0; lane < 32; lane++) std::memcpy(c[lane], accAt(lane), sizeof c[lane]);
  if (math == TF32X3) {
    warpMma(c, aSmall, bBig);
    warpMma(c, aBig, bSmall);
  }
  warpMma(c, aBig, bBig);
  for (int lane = 0; lane < 32; lane++) std::memcpy(accAt(lane), c[lane], sizeof c[lane]);
}

struct Result {
  double maxRel = 0;    // max |tile − exact| / Σ|a||b| over the outputs
  int badWrites = 0;    // outputs written other than exactly once
  int worstConflict = 0;  // most distinct shared-memory words one bank serves in one warp-wide access
};

// The ways of a bank conflict of one warp-wide shared access: the most distinct 4-byte words in one bank.
int conflictWays(const int (&word)[32]) {
  int ways = 0;
  for (int b = 0; b < 32; b++) {
    int seen[32], n = 0;
    for (int l = 0; l < 32; l++) {
      if (word[l] % 32 != b) continue;
      bool dup = false;
      for (int i = 0; i < n; i++) dup |= seen[i] == word[l];
      if (!dup) seen[n++] = word[l];
    }
    ways = n > ways ? n : ways;
  }
  return ways;
}

// The epilogue (every lane sends two values to lane ^ 1 and writes four consecutive columns) and the comparison
// of the tile with the exact product. acc: per warp, lane, piece (i, j) the four accumulators.
Result finish(const std::vector<float>& acc, int Kdim, const std::vector<float>& a, const std::vector<float>& b, int worst) {
  auto accAt = [&](int warp, int lane, int i, int j) { return &acc[(((warp * 32 + lane) * mma::MI + i) * mma::NJ + j) * 4]; };
  std::vector<float> out(TILE * TILE, 0.f);
  std::vector<int> writes(TILE * TILE, 0);
  for (int warp = 0; warp < 8; warp++)
    for (int i = 0; i < mma::MI; i++)
      for (int j = 0; j < mma::NJ; j++) {
        float sent[32][2];
        for (int lane = 0; lane < 32; lane++) {
          const float(&c)[4] = *reinterpret_cast<const float(*)[4]>(accAt(warp, lane, i, j));
          mma::swapSend(lane, c, sent[lane][0], sent[lane][1]);
        }
        for (int lane = 0; lane < 32; lane++) {
          const float(&c)[4] = *reinterpret_cast<const float(*)[4]>(accAt(warp, lane, i, j));
          float o[4];
          mma::swapOut(lane, c, sent[lane ^ 1][0], sent[lane ^ 1][1], o);
          const int row = mma::outRow(warp, lane, i), col = mma::outCol(warp, lane, j);
          if (col % 4 != 0) writes[0] += 100;  // the callers' 16-byte pieces need 4-aligned columns
          for (int v = 0; v < 4; v++) {
            out[row * TILE + col + v] = o[v];
            writes[row * TILE + col + v]++;
          }
        }
      }
  Result res;
  res.worstConflict = worst;
  for (int m = 0; m < TILE; m++)
    for (int n = 0; n < TILE; n++) {
      double exact = 0, scale = 0;
      for (int q = 0; q < Kdim; q++) {
        const double p = (double)a[(size_t)m * Kdim + q] * b[(size_t)q * TILE + n];
        exact += p;
        scale += std::fabs(p);
      }
      if (writes[m * TILE + n] != 1) res.badWrites++;
      if (scale > 0) res.maxRel = std::fmax(res.maxRel, std::fabs(out[m * TILE + n] - exact) / scale);
    }
  return res;
}

// The tile of kernels.cu for C[128×128] = A[128×K] · B[K×128], A(m, q) = a[m·K + q], B(q, n) = b[q·128 + n].
template <bool A_QFAST, bool B_QFAST>
Result emulate(int math, int Kdim, const std::vector<float>& a, const std::vector<float>& b) {
  constexpr int LD = mma::SMEM_LD;
  static float As[2][MK][LD], Bs[2][MK][LD];
  int worst = 0;
  std::vector<float> acc(8 * 32 * mma::MI * mma::NJ * 4, 0.f);
  constexpr int PER = TILE * MK / BLOCK;
  auto fetchStash = [&](int q0, int buf) {
    for (int tid = 0; tid < BLOCK; tid++)
      for (int l = 0; l < PER; l++) {
        const int e = tid + BLOCK * l;
        const int am = stageM<MK, A_QFAST>(e), aq = stageQ<MK, A_QFAST>(e);
        As[buf][aq][mma::smemCol<A_QFAST>(aq, am)] = q0 + aq < Kdim ? a[(size_t)am * Kdim + q0 + aq] : 0.f;
        const int bn = stageM<MK, B_QFAST>(e), bq = stageQ<MK, B_QFAST>(e);
        Bs[buf][bq][mma::smemCol<B_QFAST>(bq, bn)] = q0 + bq < Kdim ? b[(size_t)(q0 + bq) * TILE + bn] : 0.f;
      }
    // Bank conflicts of the stash: each warp's store of element l.
    for (int w = 0; w < BLOCK / 32; w++)
      for (int l = 0; l < PER; l++) {
        int wa[32], wb[32];
        for (int lane = 0; lane < 32; lane++) {
          const int e = 32 * w + lane + BLOCK * l;
          const int am = stageM<MK, A_QFAST>(e), aq = stageQ<MK, A_QFAST>(e);
          const int bn = stageM<MK, B_QFAST>(e), bq = stageQ<MK, B_QFAST>(e);
          wa[lane] = aq * LD + mma::smemCol<A_QFAST>(aq, am);
          wb[lane] = bq * LD + mma::smemCol<B_QFAST>(bq, bn);
        }
        worst = std::max(worst, std::max(conflictWays(wa), conflictWays(wb)));
      }
  };
  auto split = [&](float x, uint32_t& big, uint32_t& small) {
    big = tf32Bits(x);
    small = math == TF32X3 ? tf32Bits(x - asFloat(big)) : 0u;
  };
  int buf = 0;
  for (int q0 = 0; q0 < Kdim; q0 += MK, buf ^= 1) {
    fetchStash(q0, buf);
    for (int kk = 0; kk < MK; kk += 8)
      for (int warp = 0; warp < 8; warp++) {
        uint32_t bBig[mma::NJ][32][2], bSmall[mma::NJ][32][2];
        for (int lane = 0; lane < 32; lane++)
          for (int j = 0; j < mma::NJ; j++)
            for (int r = 0; r < 2; r++)
            {
              // The kernel's column formula must be the stash's mapping of (q, column).
              const int q = kk + mma::bK(lane, r);
              if (mma::bSmemCol<B_QFAST>(warp, lane, j, q) != mma::smemCol<B_QFAST>(q, mma::bCol(warp, lane, j))) worst = 99;
              split(Bs[buf][q][mma::bSmemCol<B_QFAST>(warp, lane, j, q)], bBig[j][lane][r], bSmall[j][lane][r]);
            }
        for (int j = 0; j < mma::NJ; j++)
          for (int r = 0; r < 2; r++) {
            int wb[32];
            for (int lane = 0; lane < 32; lane++)
              wb[lane] = (kk + mma::bK(lane, r)) * LD + mma::bSmemCol<B_QFAST>(warp, lane, j, kk + mma::bK(lane, r));
            worst = std::max(worst, conflictWays(wb));
          }
        for (int i = 0; i < mma::MI; i++) {
          uint32_t aBig[32][4], aSmall[32][4];
          for (int lane = 0; lane < 32; lane++)
            for (int r = 0; r < 4; r++)
            {
              const int q = kk + mma::aK(lane, r);
              if (mma::aSmemCol<A_QFAST>(warp, lane, i, r, q) != mma::smemCol<A_QFAST>(q, mma::aRow(warp, lane, i, r))) worst = 99;
              split(As[buf][q][mma::aSmemCol<A_QFAST>(warp, lane, i, r, q)], aBig[lane][r], aSmall[lane][r]);
            }
          for (int r = 0; r < 4; r++) {
            int wa[32];
            for (int lane = 0; lane < 32; lane++)
              wa[lane] = (kk + mma::aK(lane, r)) * LD + mma::aSmemCol<A_QFAST>(warp, lane, i, r, kk + mma::aK(lane, r));
            worst = std::max(worst, conflictWays(wa));
          }
          for (int j = 0; j < mma::NJ; j++) pieceMma(math, acc, warp, i, j, aBig, aSmall, bBig[j], bSmall[j]);
        }
      }
  }
  return finish(acc, Kdim, a, b, worst);
}

// 16-byte shared stores as the hardware serves them: a warp's 32 go out in four phases of eight lanes, and a phase
// is conflict-free when its eight 4-word pieces fall in distinct banks. firstWord: each lane's first word.
int pieceStoreConflictWays(const int (&firstWord)[32]) {
  int ways = 0;
  for (int phase = 0; phase < 4; phase++) {
    int words[32];
    for (int i = 0; i < 8; i++)
      for (int v = 0; v < 4; v++) words[4 * i + v] = firstWord[8 * phase + i] + v;
    ways = std::max(ways, conflictWays(words));
  }
  return ways;
}

// The 16-byte tile (kernels.cu chunkGemmTile, mma_layout.h mma::chunk) for the same product: each thread's pieces
// staged into a ring slot of shared memory, fragments read from the operands' own layouts, then the same epilogue.
// Also checked: a piece's four elements are consecutive words from a 16-byte-aligned one, the pieces of a K-step
// cover each operand once (nothing unwritten is read), and no warp-wide access conflicts.
template <bool A_QFAST, bool B_QFAST>
Result emulateChunk(int math, int Kdim, const std::vector<float>& a, const std::vector<float>& b) {
  namespace C = mma::chunk;
  static float ring[C::STAGES][2][C::OPERAND_FLOATS];
  int worst = 0, bad = 0;
  std::vector<float> acc(8 * 32 * mma::MI * mma::NJ * 4, 0.f);
  auto split = [&](float x, uint32_t& big, uint32_t& small) {
    big = tf32Bits(x);
    small = math == TF32X3 ? tf32Bits(x - asFloat(big)) : 0u;
  };
  // Operand element (m, q) of the K-step at q0 (zero past Kdim), A(m, q) = a[m·K + q], B(q, n) = b[q·128 + n].
  auto elemA = [&](int m, int q) { return q < Kdim ? a[(size_t)m * Kdim + q] : 0.f; };
  auto elemB = [&](int n, int q) { return q < Kdim ? b[(size_t)q * TILE + n] : 0.f; };
  const int steps = (Kdim + C::KS - 1) / C::KS;
  for (int step = 0; step < steps; step++) {
    float* as = ring[step % C::STAGES][0];
    float* bs = ring[step % C::STAGES][1];
    std::fill(as, as + C::OPERAND_FLOATS, NAN);
    std::fill(bs, bs + C::OPERAND_FLOATS, NAN);
    const int q0 = step * C::KS;
    for (int tid = 0; tid < BLOCK; tid++)
      for (int l = 0; l < C::PIECES_PER_THREAD; l++) {
        const int p = tid + BLOCK * l;
        const int am = C::pieceM<A_QFAST>(p), aq = C::pieceQ<A_QFAST>(p);
        const int bn = C::pieceM<B_QFAST>(p), bq = C::pieceQ<B_QFAST>(p);
        const int aw = C::offset<A_QFAST>(am, aq), bw = C::offset<B_QFAST>(bn, bq);
        if (aw % 4 != 0 || bw % 4 != 0) bad++;  // cp.async 16 needs 16-byte-aligned destinations
        for (int v = 0; v < 4; v++) {
          // The piece's v-th element: next q (q-fastest operands) or next m, and where the element's own offset puts it.
          const int em = A_QFAST ? am : am + v, eq = A_QFAST ? aq + v : aq;
          if (C::offset<A_QFAST>(em, eq) != aw + v || !std::isnan(as[aw + v])) bad++;
          as[aw + v] = elemA(em, q0 + eq);
          const int fn = B_QFAST ? bn : bn + v, fq = B_QFAST ? bq + v : bq;
          if (C::offset<B_QFAST>(fn, fq) != bw + v || !std::isnan(bs[bw + v])) bad++;
          bs[bw + v] = elemB(fn, q0 + fq);
        }
      }
    for (int w = 0; w < BLOCK / 32; w++)
      for (int l = 0; l < C::PIECES_PER_THREAD; l++) {
        int wa[32], wb[32];
        for (int lane = 0; lane < 32; lane++) {
          const int p = 32 * w + lane + BLOCK * l;
          wa[lane] = C::offset<A_QFAST>(C::pieceM<A_QFAST>(p), C::pieceQ<A_QFAST>(p));
          wb[lane] = C::offset<B_QFAST>(C::pieceM<B_QFAST>(p), C::pieceQ<B_QFAST>(p));
        }
        worst = std::max(worst, std::max(pieceStoreConflictWays(wa), pieceStoreConflictWays(wb)));
      }
    for (int kk = 0; kk < C::KS; kk += 8)
      for (int warp = 0; warp < 8; warp++) {
        uint32_t bBig[mma::NJ][32][2], bSmall[mma::NJ][32][2];
        for (int j = 0; j < mma::NJ; j++)
          for (int r = 0; r < 2; r++) {
            int wb[32];
            for (int lane = 0; lane < 32; lane++) {
              wb[lane] = C::offset<B_QFAST>(mma::bCol(warp, lane, j), kk + mma::bK(lane, r));
              if (std::isnan(bs[wb[lane]])) bad++;
              split(bs[wb[lane]], bBig[j][lane][r], bSmall[j][lane][r]);
            }
            worst = std::max(worst, conflictWays(wb));
          }
        for (int i = 0; i < mma::MI; i++) {
          uint32_t aBig[32][4], aSmall[32][4];
          for (int r = 0; r < 4; r++) {
            int wa[32];
            for (int lane = 0; lane < 32; lane++) {
              wa[lane] = C::offset<A_QFAST>(mma::aRow(warp, lane, i, r), kk + mma::aK(lane, r));
              if (std::isnan(as[wa[lane]])) bad++;
              split(as[wa[lane]], aBig[lane][r], aSmall[lane][r]);
            }
            worst = std::max(worst, conflictWays(wa));
          }
          for (int j = 0; j < mma::NJ; j++) pieceMma(math, acc, warp, i, j, aBig, aSmall, bBig[j], bSmall[j]);
        }
      }
  }
  Result res = finish(acc, Kdim, a, b, worst);
  res.badWrites += bad;
  return res;
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  int failures = 0;
  // K 40: a partial K-step in both tiles; 128: the projections' d = k; 200: the 16-byte tile's ring of three
  // slots wraps twice (∂M's K is its rows, any count).
  for (int tile = 0; tile < 2; tile++)
    for (int Kdim : {40, 128, 200}) {
      if (tile == 0 && Kdim == 200) continue;
      std::vector<float> a((size_t)TILE * Kdim), b((size_t)Kdim * TILE);
      for (float& x : a) x = normal(rng);
      for (float& x : b) x = normal(rng) * 0.01f;
      for (int layout = 0; layout < 3; layout++) {
        auto run = [&](int math) {
          if (layout == 0) return tile ? emulateChunk<true, true>(math, Kdim, a, b) : emulate<true, true>(math, Kdim, a, b);
          if (layout == 1) return tile ? emulateChunk<true, false>(math, Kdim, a, b) : emulate<true, false>(math, Kdim, a, b);
          return tile ? emulateChunk<false, false>(math, Kdim, a, b) : emulate<false, false>(math, Kdim, a, b);
        };
        const Result r3 = run(TF32X3), r1 = run(TF32);
        // 3xTF32 rounds like FP32 (a few units of 2^-24 per product sum); TF32 alone is near 2^-11.
        // Every shared-memory access of the tile conflict-free (one word per bank per warp access).
        const bool ok = r3.badWrites == 0 && r1.badWrites == 0 && r3.maxRel < 2e-6 && r1.maxRel > 2e-5 &&
                        r1.maxRel < 2e-3 && r3.maxRel * 50 < r1.maxRel && r3.worstConflict == 1;
        if (!ok) failures++;
        std::printf("{\"tile\":\"%s\",\"K\":%d,\"layout\":%d,\"tf32x3MaxRel\":%.3g,\"tf32MaxRel\":%.3g,\"badWrites\":%d,\"bankConflictWays\":%d,\"ok\":%s}\n",
                    tile ? "chunk" : "element", Kdim, layout, r3.maxRel, r1.maxRel, r3.badWrites + r1.badWrites, r3.worstConflict, ok ? "true" : "false");
      }
    }
  return failures ? 1 : 0;
}
