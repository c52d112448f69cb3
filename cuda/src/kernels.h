// Device kernels of the CUDA KGE engine and their launchers. Everything here works in *slot space*:
// entity rows live at a slot of the device entity table (slot = entity id when the whole table is
// resident; a compact slot when rows are staged from host memory, see cuda_engine.h). The launchers
// only enqueue work on a stream; nothing here synchronises with the host.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

namespace adkg_cuda {

enum { MODEL_TRANSE = 0, MODEL_TRANSR = 1, MODEL_TRANSRA = 2 };
enum { LOSS_MARGIN = 0, LOSS_SOFTPLUS = 1 };
enum { NORM_L1 = 1, NORM_L2 = 2 };
enum { OPT_ADAGRAD = 0, OPT_ADAM = 1 };
enum { CORRUPT_UNIFORM = 0, CORRUPT_BERNOULLI = 1, CORRUPT_TYPED = 2 };
// How the projection GEMMs (TransR/TransRA: P = M_r x, ∂x, ∂M) multiply: FP32 FMA (SIMT) tiles, or
// tensor-core tiles in 3xTF32 (FP32-level rounding) or plain TF32 (a numerics change).
enum { GEMM_SIMT = 0, GEMM_TF32X3 = 1, GEMM_TF32 = 2 };

// GEMM_* by name ("simt", "tf32x3", "tf32"), -1 for anything else; and back.
int gemmMathFromName(const std::string& name);
const char* gemmMathName(int math);
// How the projection GEMMs run: the math (GEMM_*) and the thread blocks each SM holds (1 or 2; with 2 the tile's
// registers are capped at 128 per thread, which spills some, for twice the warps to hide latency with).
// tile (TILE_*): the element tile; the 16-byte tile (operands staged in 16-byte cp.async pieces in their global
// layout, three K-steps in flight; mma_layout.h mma::chunk); the warpgroup tile (the 16-byte tile's staging, B split
// once per K-step, wgmma.mma_async: sm_90a; mma_layout.h mma::wg); or the stationary tile (the warpgroup tile with M_r
// kept split in shared memory across a persistent block's tiles for P and ∂x; ∂M as the warpgroup tile;
// mma_layout.h mma::stationary). The last three only with tensor-core math and d, k multiples of 4 (gemmTileFor).
enum { TILE_ELEMENT = 0, TILE_CHUNK = 1, TILE_WGMMA = 2, TILE_STATIONARY = 3 };
struct GemmChoice {
  int math = GEMM_TF32X3;
  int blocks = 2;
  int tile = TILE_ELEMENT;
  int sms = 1;  // the device's SMs: the stationary tile's persistent grid
};
// The math a GEMM_* request runs as: tensor-core tiles need sm_80 machine code, so a build that also
// carries older GPUs (ADKG_CUDA_ARCHS below 80) runs them as simt.
int usableGemmMath(int math);
// The tile (TILE_*) the GEMMs of a model with dimensions d, k run as under g.
int gemmTileFor(GemmChoice g, int d, int k);
// TILE_* by name ("element", "chunk", "wgmma", "stationary"), -1 for anything else; and back.
int gemmTileFromName(const std::string& name);
const char* gemmTileName(int tile);

// One learned table on the device with its optimizer slots (s2 only for Adam).
struct DevTable {
  float* w = nullptr;
  float* s1 = nullptr;
  float* s2 = nullptr;
};

// The device state a training step reads and writes.
struct DevModel {
  int model, d, k, K, n;
  int64_t capacity;           // entity slots on the device
  int R, A;
  DevTable entity;            // capacity × d   (TransRA: ê)
  DevTable relation;          // R × k
  DevTable projection;        // R × k × d
  DevTable anchor;            // A × d
  DevTable anchorLogit;       // capacity × K
  const int32_t* anchorOf;    // capacity × K (anchor ids, -1 none)
  float* gradX;               // capacity × d: ∂L/∂x per slot (TransRA: w.r.t. the composed x)
  uint8_t* touched;           // capacity
  float* composed;            // capacity × d (TransRA: x = ê + Σ α ā of touched slots)
  float* alpha;               // capacity × K (TransRA)
  float* gradR;               // R × k
  float* gradM;               // R × k × d
  uint8_t* relTouched;        // R
  float* gradA;               // A × d
  uint8_t* anchorTouched;     // A
  double* lossAccum;          // Σ ℓ_b / B of the current batch
};

struct DevConfig {
  int loss, norm, sampling, chunkSize, corruption;
  float margin, tau;
  int entityOptimizer, relationOptimizer;
  float lr, relationLr;
  bool unitBall, learnAnchorWeights;
  uint32_t seed;
  bool vecSharedLoss;  // the shared-negatives loss kernel's 16-byte variant (EngineOptions::vecSharedLoss)
};

// The plan of one batch, built on the host from the positives alone (see cuda_engine.cc), in device memory.
// Positives are visited in `order` (grouped: same relation, and in shared mode the same chunk).
struct DevPlan {
  int B;                      // positives
  int G;                      // groups
  int S;                      // loss segments
  int T;                      // projection tiles (≤ 128 rows)
  int TM;                     // ∂M tiles (≤ MTILE_ROWS rows of one relation)
  int TP;                     // pieces of (h, t) pair rows (the Gram form's E), as the ∂M tiles
  int64_t rows;               // projected rows (TransR/TransRA)
  const int32_t* order;       // B: original batch slot of sorted position i
  const int32_t* posGroup;    // B: group of sorted position i
  const int32_t* gRel;        // G
  const int32_t* gPosStart;   // G: first sorted position
  const int32_t* gPosCount;   // G
  const int32_t* gChunk;      // G: chunk index (shared)
  const int64_t* gRow;        // G: first projected row (TransR/TransRA)
  const int32_t* segGroup;    // S
  const int32_t* segStart;    // S: first sorted position
  const int32_t* segCount;    // S
  const int32_t* tileRel;     // T
  const int64_t* tileRow;     // T
  const int32_t* tileCount;   // T
  const int32_t* mtRel;       // TM
  const int64_t* mtRow;       // TM
  const int32_t* mtCount;     // TM
  // The Gram form's E rows (2 per positive, sorted order) of one relation, cut as the ∂M tiles are.
  const int32_t* pairRel;     // TP
  const int64_t* pairRow;     // TP
  const int32_t* pairCount;   // TP
};

// The positives and negatives of one batch in slot space plus scratch the step fills.
struct DevBatch {
  const int32_t* hSlot;       // B (original order)
  const int32_t* rel;         // B
  const int32_t* tSlot;       // B
  int32_t* negSlot;           // independent: B×n; shared: chunks×n
  uint8_t* negHead;           // independent: B×n; shared: chunks
  // Vector indices for the loss kernel: slots (TransE) or projected rows (TransR/TransRA).
  int32_t* hIdx;              // B (sorted order)
  int32_t* tIdx;              // B
  int32_t* nIdx;              // independent: B×n (sorted order); shared: G×n
  uint8_t* nHead;             // independent: B×n; shared: G
  int32_t* rowSlot;           // rows: entity slot of each projected row
  float* P;                   // rows × k: projected vectors
  float* dP;                  // rows × k: their gradients
};

// Sampling data for drawing on the device (entity ids = slots: resident placement only).
struct DevSampling {
  const double* headProb;     // R
  const int32_t* entityType;  // N
  const int32_t* typeOffsets; // T+1
  const int32_t* typeMembers; // N
  int64_t N;
};

constexpr int TILE_ROWS = 128;     // rows per projection tile
constexpr int MTILE_ROWS = 4096;   // rows per ∂M partial sum, at most
constexpr int MTILE_MIN_ROWS = 256;  // and at least, unless a relation has fewer

// Draws the negatives of a batch on the device into batch.negSlot/negHead (entity ids).
void launchDraw(cudaStream_t s, const DevBatch& b, const int32_t* hEnt, const int32_t* tEnt, int B, double offset,
                uint32_t epoch, const DevConfig& c, const DevSampling& smp, int n);
// Fills hIdx/tIdx/nIdx/nHead/rowSlot from the plan; marks touched slots and relations.
void launchIndex(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevConfig& c);
// TransRA: composes x for every touched slot (and marks the anchors they use).
void launchCompose(cudaStream_t s, const DevModel& m);
// TransR/TransRA: P[row] = M_r x[rowSlot[row]].
void launchProject(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, GemmChoice g);
// Loss, and ∂L/∂ (vectors, r) of every positive and negative; adds Σ ℓ/B to m.lossAccum.
// Returns -1 when the dimensions need more shared memory than sharedLimit, 1 when ∂P rows are
// written with plain stores (no zeroing needed), 0 when they are accumulated (∂P must be zeroed first).
// dryRun: only answers, launches nothing.
// The shared-negatives loss kernel a step runs: -1 none (independent negatives, L1, or too large), 0 groupLossKernel
// with element reads, 1 its 16-byte variant (DevConfig::vecSharedLoss and k a multiple of 4).
int groupLossVariant(const DevModel& m, const DevConfig& c, size_t sharedLimit);
int launchLoss(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevConfig& c,
               size_t sharedLimit, bool dryRun = false);
// ∂x += M_rᵀ ∂P (scattered into the rows' slots) and ∂M_r += Σ ∂P xᵀ (partial sums over the plan's ∂M pieces).
void launchProjectBackX(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, GemmChoice g);
void launchProjectBackM(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, GemmChoice g);
// out_r (m × d, per relation) += Σ_rows L[row] x[rowSlot[row]]ᵀ over the plan's ∂M pieces, L's rows m long: the ∂M
// GEMM (L = ∂P, m = k) and the Gram form's S (L = Q, m = d).
void launchRowOuterSums(cudaStream_t s, const float* L, const float* X, const int32_t* rowSlot, const int32_t* mtRel,
                        const int64_t* mtRow, const int32_t* mtCount, int TM, int d, int m, float* out, GemmChoice g);

// ---- The Gram form (gram.cu; EngineOptions::gram): TransR/TransRA with independent negatives and the L2 norm, with
// G_r = M_rᵀM_r. Two GEMMs a step instead of three: z = G_r x for every projected row, distances and ∂x from dot
// products of x and z rows, and S = Σ q xᵀ from which ∂M_r and ∂r_r follow per relation. ----
struct DevGram {
  float* G;    // R × d × d: G_r of the step's touched relations
  float* w;    // R × d: M_rᵀ r_r
  float* rho;  // R: ‖r_r‖²
  float* S;    // R × d × d: Σ κ u uᵀ (summed as Σ q xᵀ)
  float* b;    // R × d: Σ κ σ u
  float* K;    // R: Σ κ
  float* Z;    // rows × d: G_r x of every projected row
  float* Q;    // rows × d: the rows' q
  float* E;         // 2B × k: ±κ⁺e⁺ of each positive's h and t (sorted order), e⁺ = M_r(h − t) + r_r
  int32_t* eSlot;   // 2B: the slots of those h and t
};
// Whether a step of this model and config can run in the Gram form (projected model, independent negatives, L2,
// d % 4 == 0 and d ≤ 128, the loss kernel's shared memory within sharedLimit).
bool gramApplies(const DevModel& m, const DevConfig& c, size_t sharedLimit);
// G_r, w_r, ρ_r of the touched relations; zeroes their S_r, b_r, K_r.
void launchGramPrepare(cudaStream_t s, const DevModel& m, const DevGram& g);
// Z[row] = G_r x[rowSlot[row]].
void launchGramProject(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevGram& g,
                       GemmChoice gc);
// Loss; ∂x into m.gradX; Q rows, b, K (negatives); E rows, eSlot and ∂r into m.gradR (positives); adds Σ ℓ/B to
// m.lossAccum.
void launchGramLoss(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevConfig& c,
                    const DevGram& g);
// ∂M_r += Σ E xᵀ over the positives' h and t (their pairs' share, taken directly), S = Σ q xᵀ, then
// ∂M_r += M_r·sym(S_r) + r_r b_rᵀ and ∂r_r += M_r b_r + K_r r_r.
void launchGramBackward(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevGram& g,
                        GemmChoice gc);

// Optimizer steps on touched rows (and TransRA's anchor/logit gradients), clearing gradients and marks.
// When gradOut is set, gradients are copied there instead and nothing is stepped.
struct GradOut {
  float* entity;      // capacity × d
  float* anchorLogit; // capacity × K
  float* anchor;      // A × d
  float* relation;    // R × k
  float* projection;  // R × k × d
};
void launchStep(cudaStream_t s, const DevModel& m, const DevConfig& c, double bc1, double bc2, const GradOut* gradOut);
// Rows between host tables and device slots, moved by the device itself (the staged placements' mapped staging,
// EngineOptions::mappedStaging): host[a] is the device's pointer to a page-locked host table (cudaHostGetDevicePointer),
// so the gather and scatter cross the bus as the kernel's own loads and stores, with no host memcpy and no pinned
// bounce buffer. Row i is host[a] row ents[i] and dev[a] row slot0 + i.
struct StageTables {
  static constexpr int MAX = 8;
  int count = 0;
  float* host[MAX] = {};
  float* dev[MAX] = {};
  int width[MAX] = {};  // floats (or 4-byte ints) a row
};
// toDevice: dev ← host (stage in); else host ← dev (stage out). Enqueued on s, nothing waited for.
void launchStageRows(cudaStream_t s, const StageTables& t, const int32_t* ents, int64_t rows, int64_t slot0,
                     bool toDevice, int smCount);
// TransRA: composes x of slots [first, first + count) into out[0 .. count) (evaluation).
void launchComposeAll(cudaStream_t s, const DevModel& m, int64_t first, int64_t count, float* out);
// P[row] = M_{tileRel} X[rowSlot[row]] over explicit tiles (evaluation queries).
void launchProjectTiles(cudaStream_t s, const float* X, const float* proj, const int32_t* rowSlot,
                        const int32_t* tileRel, const int64_t* tileRow, const int32_t* tileCount, int T, int d, int k,
                        float* P, GemmChoice g);
// P[e] = M_r x[e] for e in [0, count): evaluation.
void launchProjectAll(cudaStream_t s, const float* X, const float* M, int d, int k, int64_t count, float* P, GemmChoice g);
// out[q·ldOut + e] = dist(A[q], Y[e]) for q < Q, e < count.
void launchDistances(cudaStream_t s, const float* A, int Q, const float* Y, int64_t count, int k, int norm, float* out,
                     int64_t ldOut);

}  // namespace adkg_cuda
