// Where each lane's values sit in the tensor-core GEMM tile of kernels.cu (mmaGemmTile), as plain functions
// so that the host test (test/cuda-mma-layout.test.ts compiles cuda/test/mma_layout_check.cc with g++)
// checks the same arithmetic the kernel runs.
//
// The tile: 128×128 outputs per block of 8 warps in a 2 × 4 grid, each warp 64 × 32 = 4 × 4 instructions of
// mma.sync.m16n8k8 (TF32 in, FP32 accumulate). Fragment layouts are the PTX ISA's for m16n8k8 .tf32:
//   lane = 4·g + t (g = groupID 0..7, t = threadID_in_group 0..3)
//   A (16×8, row):  a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)      (row, k)
//   B (8×8, col):   b0 (t, g)  b1 (t+4, g)                                   (k, col)
//   C (16×8):       c0 (g, 2t) c1 (g, 2t+1) c2 (g+8, 2t) c3 (g+8, 2t+1)      (row, col)
// The epilogue swaps half of C with the neighbouring lane (lane ^ 1) so that every lane ends up with four
// consecutive columns of one row, the 16-byte pieces the SIMT tile's callers already take.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define ADKG_HD __host__ __device__ __forceinline__
#else
#define ADKG_HD inline
#endif

namespace adkg_cuda {

// Element e (0 .. 128·KS − 1) of one K-step of a staged 128 × KS operand (kernels.cu TileStage, both tiles):
// its row or column m (0..127) of the block tile and its q (0..KS − 1). QFAST: consecutive threads take
// consecutive q of one m (operands stored q-fastest in memory), else consecutive m of one q.
template <int KS, bool QFAST>
ADKG_HD int stageM(int e) { return QFAST ? e / KS : e % 128; }
template <int KS, bool QFAST>
ADKG_HD int stageQ(int e) { return QFAST ? e % KS : e / 128; }

namespace mma {

// The TF32 value nearest a float's bits (ties away from zero; the low 13 bits zero): what cvt.rna.tf32.f32 gives
// for every finite input, in two integer operations where ptxas emits cvt as three (an infinity test first).
ADKG_HD uint32_t tf32Round(uint32_t bits) { return (bits + 0x1000u) & 0xffffe000u; }

constexpr int WARP_ROWS = 64;  // rows of the block tile a warp computes
constexpr int WARP_COLS = 32;  // columns
constexpr int MI = 4;          // m16 pieces per warp
constexpr int NJ = 4;          // n8 pieces per warp
constexpr int K_STEP = 16;     // k of one staged K-step (two k8 instructions)

// Shared-memory column of element (q, m) of a staged operand (q: k within the 16-deep K-step, m: row or
// column of the tile, 0..127). Rows are 136 floats long, so a fragment read (lanes over t = k and g = m)
// hits banks 8t + g: all distinct. The K-step's fetch writes 16 consecutive q of two neighbouring m per
// warp, banks 8q + m: 4-way conflicts, unless m is XOR-ed with 2·((q / 4) mod 4), which spreads them over all
// 32 banks and only permutes within aligned groups of 8, so fragment reads stay conflict-free.
constexpr int SMEM_LD = 128 + 8;
// Only operands fetched q-fastest (16 consecutive q of a row per half-warp) conflict; the others (consecutive m
// for one q) are stored and read unswizzled: SW = false.
template <bool SW = true>
ADKG_HD int swizzle(int q) { return SW ? ((q >> 2) & 3) << 1 : 0; }
template <bool SW = true>
ADKG_HD int smemCol(int q, int m) { return m ^ swizzle<SW>(q); }

ADKG_HD int warpRow0(int warp) { return (warp >> 2) * WARP_ROWS; }
ADKG_HD int warpCol0(int warp) { return (warp & 3) * WARP_COLS; }

// A fragment register r (0..3) of `lane` for the m16 piece i: row within the block tile, k within the k8 step.
ADKG_HD int aRow(int warp, int lane, int i, int r) { return warpRow0(warp) + 16 * i + (lane >> 2) + ((r & 1) ? 8 : 0); }
ADKG_HD int aK(int lane, int r) { return (lane & 3) + ((r & 2) ? 4 : 0); }
// B fragment register r (0..1) of `lane` for the n8 piece j: k within the k8 step, column within the block tile.
ADKG_HD int bK(int lane, int r) { return (lane & 3) + (r ? 4 : 0); }
ADKG_HD int bCol(int warp, int lane, int j) { return warpCol0(warp) + 8 * j + (lane >> 2); }
// The shared-memory columns of those reads at K-step row q: smemCol(q, aRow(…)) and smemCol(q, bCol(…)),
// written so that only the lane's group id g (0..7) is swizzled — the rest is a multiple of 8 that XOR leaves
// alone — which lets the compiler keep four g ^ s values instead of an address per fragment.
template <bool SW = true>
ADKG_HD int aSmemCol(int warp, int lane, int i, int r, int q) {
  return warpRow0(warp) + 16 * i + ((r & 1) ? 8 : 0) + ((lane >> 2) ^ swizzle<SW>(q));
}
template <bool SW = true>
ADKG_HD int bSmemCol(int warp, int lane, int j, int q) {
  return warpCol0(warp) + 8 * j + ((lane >> 2) ^ swizzle<SW>(q));
}
// Accumulator register r (0..3) of `lane` within one m16n8 piece (row, col of the piece).
ADKG_HD int cRow(int lane, int r) { return (lane >> 2) + ((r & 2) ? 8 : 0); }
ADKG_HD int cCol(int lane, int r) { return 2 * (lane & 3) + (r & 1); }

// After the swap: the row and first column (of the block tile) of the four values `lane` writes for piece
// (i, j). Even t keeps row g and takes the neighbour's c0, c1; odd t keeps row g+8 and takes the neighbour's
// c2, c3: out = even ? (c0, c1, nb0, nb1) : (nb0, nb1, c2, c3), where the lane sends (c2, c3) when even
// and (c0, c1) when odd.
ADKG_HD bool keepsLowRow(int lane) { return (lane & 1) == 0; }
ADKG_HD int outRow(int warp, int lane, int i) {
  return warpRow0(warp) + 16 * i + (lane >> 2) + (keepsLowRow(lane) ? 0 : 8);
}
ADKG_HD int outCol(int warp, int lane, int j) { return warpCol0(warp) + 8 * j + 2 * ((lane & 3) & ~1); }
// The two accumulator values a lane sends to lane ^ 1, and its four outputs given the two it receives.
ADKG_HD void swapSend(int lane, const float (&c)[4], float& s0, float& s1) {
  s0 = keepsLowRow(lane) ? c[2] : c[0];
  s1 = keepsLowRow(lane) ? c[3] : c[1];
}
ADKG_HD void swapOut(int lane, const float (&c)[4], float n0, float n1, float (&out)[4]) {
  const bool low = keepsLowRow(lane);
  out[0] = low ? c[0] : n0;
  out[1] = low ? c[1] : n1;
  out[2] = low ? n0 : c[2];
  out[3] = low ? n1 : c[3];
}


// The 16-byte tile (kernels.cu chunkGemmTile, ADKG_CUDA_GEMM_TILE=chunk): the same warps, fragments and epilogue,
// but each operand sits in shared memory the way it lies in global memory, so that it is staged with 16-byte
// cp.async pieces (four consecutive elements) in a ring of STAGES K-steps, instead of one 4-byte copy per element
// transposed into the K-major layout above.
//   q-fastest operands (rows of x, ∂P, M_r read by row): [128][LDQ], element (m, q) at m·LDQ + q. LDQ = KS + 4,
//     so a fragment read (lanes over g = m and t = q) hits banks 4g + t, and a quarter-warp's eight 16-byte
//     stores (one row's 32 q) hit all 32 banks once.
//   m-fastest operands (M_r read by column, ∂P and x in ∂M): [KS][LDM], element (m, q) at q·LDM + m, banks 8t + g
//     on a fragment read, and eight stores are 32 consecutive words.
namespace chunk {
constexpr int KS = 32;       // k of one staged K-step (four k8 instructions)
constexpr int STAGES = 3;    // K-steps in flight: one multiplied while two arrive
constexpr int LDQ = KS + 4;
constexpr int LDM = 128 + 8;
constexpr int OPERAND_FLOATS = 128 * LDQ > KS * LDM ? 128 * LDQ : KS * LDM;
constexpr int SMEM_BYTES = STAGES * 2 * OPERAND_FLOATS * 4;  // both operands, every stage
constexpr int PIECES = 128 * KS / 4;                         // 16-byte pieces of one operand per K-step
constexpr int PIECES_PER_THREAD = PIECES / 256;

template <bool QFAST>
ADKG_HD int offset(int m, int q) { return QFAST ? m * LDQ + q : q * LDM + m; }
// Piece p of a K-step: its m and q of the first of its four elements (QFAST: q .. q+3 of one m, eight pieces a
// row; else m .. m+3 of one q, 32 pieces a line).
template <bool QFAST>
ADKG_HD int pieceM(int p) { return QFAST ? p / (KS / 4) : 4 * (p % 32); }
template <bool QFAST>
ADKG_HD int pieceQ(int p) { return QFAST ? 4 * (p % (KS / 4)) : p / 32; }
}  // namespace chunk

// The warpgroup tile (kernels.cu wgmmaGemmTile, ADKG_CUDA_GEMM_TILE=wgmma, sm_90a): the 16-byte tile's ring, then per
// K-step B split (into one of two buffers, big part then small part) into TF32 big and small parts in the no-swizzle K-major layout wgmma.mma_async reads through a
// matrix descriptor: core matrices of 8 columns n × 4 k (16 bytes a column, 128 bytes a core matrix), the 16 core
// matrices of one k4 next to each other (SBO, between core matrices along n: 128 bytes), the eight k4 after one
// another (LBO, along k: 16 · 128 = 2048 bytes). Two warpgroups, each 64 rows × 128 columns of the block tile: warp w
// of a warpgroup holds rows 16w..16w+15, A fragments as mma.m16n8k8's, accumulators d[4j + r] as its C fragment for
// columns 8j..8j+7.
namespace wg {
constexpr int SPLIT_FLOATS = chunk::KS * 128;                          // one part of B for one K-step
constexpr int SPLIT_OFFSET = chunk::STAGES * 2 * chunk::OPERAND_FLOATS;  // after the ring
constexpr int SPLIT_BUFFERS = 2;  // K-step s splits into buffer s mod 2 while step s − 1's wgmma still run
constexpr int SMEM_BYTES = (SPLIT_OFFSET + SPLIT_BUFFERS * 2 * SPLIT_FLOATS) * 4;
constexpr int LBO_BYTES = 16 * 128, SBO_BYTES = 128;
// Float offset of B(n, q) (q: k within the K-step) in a split part.
ADKG_HD int splitOffset(int n, int q) { return ((q >> 2) * 16 + (n >> 3)) * 32 + (n & 7) * 4 + (q & 3); }
}  // namespace wg

// The stationary variant of the warpgroup tile (kernels.cu stationaryGemm, ADKG_CUDA_GEMM_TILE=stationary): for P = M_r x
// and ∂x = M_rᵀ ∂P, whose B is M_r itself. A block runs a contiguous range of tiles (a persistent grid, a block an
// SM), so consecutive tiles mostly share a relation, and M_r's 128 columns of the block's column tile stay split in
// shared memory (wg's layout over the whole K: 32 k4 groups, LBO 2048 bytes) until the relation changes; the ring
// then stages A alone, and nothing is split per K-step but the A fragments. Up to MAX_K = 128 (d of P, k of ∂x);
// beyond that the kernels run the warpgroup tile a tile at a time.
namespace stationary {
constexpr int MAX_K = 128;
constexpr int PART_FLOATS = MAX_K * 128;                           // one TF32 part of M_r's column tile
constexpr int RING_FLOATS = chunk::STAGES * chunk::OPERAND_FLOATS;  // A only
constexpr int B_OFFSET = RING_FLOATS;
constexpr int SMEM_BYTES = (RING_FLOATS + 2 * PART_FLOATS) * 4 > wg::SMEM_BYTES ? (RING_FLOATS + 2 * PART_FLOATS) * 4
                                                                                 : wg::SMEM_BYTES;
}  // namespace stationary

}  // namespace mma
}  // namespace adkg_cuda
