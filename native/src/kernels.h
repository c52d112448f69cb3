// The kernel table: one implementation per instruction set (kernels_impl.h compiled by kernels_generic.cc
// and kernels_avx2.cc), picked once at load time by dispatch.cc. Kernels take raw pointers only.
#pragma once
#include <cstdint>

namespace adkg {

enum LossKind { LOSS_MARGIN = 0, LOSS_SOFTPLUS = 1 };
enum NormKind { NORM_L1 = 1, NORM_L2 = 2 };
enum OptimizerKind { OPT_ADAGRAD = 0, OPT_ADAM = 1 };

// One group of positives that share a relation, with their negatives, as local rows:
// every head, tail and negative entity the group uses is a local row (entity space, d floats).
struct GroupArgs {
  int d, k;
  bool project;               // TransR/TransRA: relation space via M (k×d); TransE: identity (k = d)
  const float* M;             // k×d, the relation's projection (project only)
  const float* r;             // k
  int m;                      // local rows
  const float* const* X;      // m row pointers, entity space
  float* const* dX;           // m row pointers where ∂L/∂x is added (entity space)
  int numPos;
  const int* posH;            // numPos: local row of each positive's head
  const int* posT;            // numPos: local row of each positive's tail
  int n;                      // negatives per positive
  const int* negRow;          // numPos×n local rows of negative entities
  const uint8_t* negHead;     // numPos×n: 1 = the head was replaced
  bool shared;                // every positive uses the same n negative rows, on the same side
  int loss, norm;
  float margin, tau, scale;   // scale = 1/B (the batch mean)
  float* dR;                  // k: ∂L/∂r added here
  float* dM;                  // k×d: ∂L/∂M added here (project only)
  double* lossSum;            // Σ ℓ_b × scale added here
  // Scratch, sized by the caller (see groupScratchFloats).
  float* scratch;
  const float** ptrScratch;   // 5·max(m, d, k) pointers
};

// Floats of scratch groupForwardBackward needs.
inline int64_t groupScratchFloats(int m, int d, int k, int numPos, int n) {
  return (int64_t)m * k * 3 + (int64_t)d * k + (int64_t)numPos * (n + 1) * 2 + 4 * (int64_t)(d > k ? d : k) + 64 +
         // shared negatives: Q, dQ (numPos×k), Eᵀ, dE (k×n), A, Aᵀ, S (numPos×n), sums
         (int64_t)numPos * k * 2 + (int64_t)k * n * 2 + (int64_t)numPos * n * 3 + numPos + n + 64;
}

struct KernelTable {
  const char* isa;
  float (*dot)(const float* a, const float* b, int n);
  // C[i] (+)= Σ_q A[i][q] · B[q]  for m rows i (row pointers), p inner, n columns.
  void (*gemm)(int m, int n, int p, const float* const* A, const float* const* B, float* const* C, bool accumulate);
  void (*groupForwardBackward)(const GroupArgs& g);
  // out[q][e] = ‖a_q − y_e‖ (l1 or l2) for nq queries against ny rows (contiguous, stride ld).
  void (*distanceBlock)(int nq, const float* const* a, int ny, const float* y, int64_t ld, int len, int norm,
                        float* const* out);
  // c[e] = √max(0, aa + yy[e] − 2·c[e]) (l2 distances from dot products).
  void (*finishL2)(float* c, const float* yy, float aa, int n);
  // Optimizer step of one row; t = global step (Adam); then the unit-ball constraint when asked.
  void (*optimizerRow)(float* w, float* s1, float* s2, const float* g, int len, int kind, float lr, double bc1,
                       double bc2, bool unitBall);
};

const KernelTable* genericKernels();
const KernelTable* avx2Kernels();    // nullptr when not built for this architecture
const KernelTable* avx512Kernels();  // likewise
const KernelTable& kernels();      // the best one this CPU runs

}  // namespace adkg
