// The native training engine: one per backend instance. It works in place on tables owned by JS
// (Float32Array memory) and follows src/kge/backends/backend.ts step by step.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace adkg {

enum ModelKind { MODEL_TRANSE = 0, MODEL_TRANSR = 1, MODEL_TRANSRA = 2 };
enum SamplingKind { SAMPLING_INDEPENDENT = 0, SAMPLING_SHARED = 1 };
enum CorruptionKind { CORRUPT_UNIFORM = 0, CORRUPT_BERNOULLI = 1, CORRUPT_TYPED = 2 };

struct EngineConfig {
  int model = MODEL_TRANSE;
  int64_t N = 0;
  int R = 0, d = 0, k = 0, A = 0, K = 0;
  int loss = 0, norm = 2;
  double margin = 0, tau = 0;
  int negatives = 1, sampling = SAMPLING_INDEPENDENT, chunkSize = 1, corruption = CORRUPT_UNIFORM;
  int entityOptimizer = 0, relationOptimizer = 0;
  double lr = 0, relationLr = 0;
  bool unitBall = false, learnAnchorWeights = false;
  uint32_t seed = 0;
  int threads = 1;
};

struct TableSlots {
  float* s1 = nullptr;
  float* s2 = nullptr;
};

// Raw pointers into JS-owned memory (kept alive by the addon's references).
struct EngineTables {
  float* entity = nullptr;
  float* relation = nullptr;
  float* projection = nullptr;
  float* anchor = nullptr;
  const int32_t* anchorOf = nullptr;
  float* anchorLogit = nullptr;
  TableSlots entitySlots, relationSlots, projectionSlots, anchorSlots, anchorLogitSlots;
  const double* headProb = nullptr;
  const int32_t* entityType = nullptr;
  const int32_t* typeOffsets = nullptr;
  const int32_t* typeMembers = nullptr;
};

struct BatchInput {
  std::vector<int32_t> heads, relations, tails;
  uint32_t epoch = 0;
  double offset = 0;
  double step = 1;
};

// Full-size gradient outputs (float64, zero-filled by JS) for gradients().
struct GradientOutputs {
  double* entity = nullptr;
  double* relation = nullptr;
  double* projection = nullptr;
  double* anchor = nullptr;
  double* anchorLogit = nullptr;
};

// Every engine's check of a batch before it runs (ids in range, equal lengths): an error message, or "".
inline std::string checkBatch(const EngineConfig& cfg, const BatchInput& b) {
  size_t B = b.heads.size();
  if (b.relations.size() != B || b.tails.size() != B) return "heads, relations and tails differ in length";
  for (size_t i = 0; i < B; i++) {
    if (b.heads[i] < 0 || b.heads[i] >= cfg.N || b.tails[i] < 0 || b.tails[i] >= cfg.N)
      return "triple " + std::to_string(i) + " has an entity outside [0, " + std::to_string(cfg.N) + ")";
    if (b.relations[i] < 0 || b.relations[i] >= cfg.R)
      return "triple " + std::to_string(i) + " has a relation outside [0, " + std::to_string(cfg.R) + ")";
  }
  return "";
}

class Engine {
 public:
  Engine(const EngineConfig& cfg, const EngineTables& tables);
  double train(const BatchInput& batch);
  double gradients(const BatchInput& batch, const GradientOutputs& out);
  void sample(const BatchInput& batch, int32_t* entities, uint8_t* corruptHead);
  // out[q·N + e] = distance with the missing side = e; side 1 = tail queries, 0 = head queries.
  void scoreAll(int side, const std::vector<int32_t>& known, const std::vector<int32_t>& relations, float* out);
  const EngineConfig& config() const { return cfg_; }

 private:
  struct ThreadState {
    std::vector<float> gradX;        // slots × d
    std::vector<uint8_t> touchedX;   // slots
    std::vector<float> gradA;        // anchor slots × d
    std::vector<uint8_t> touchedA;
    std::vector<float> gradR;        // R × k
    std::vector<float> gradM;        // R × k × d (lazily sized)
    std::vector<uint8_t> touchedR;   // R
    std::vector<float> scratch;
    std::vector<const float*> ptrs;
    std::vector<const float*> rowX;
    std::vector<float*> rowDX;
    std::vector<int> posH, posT, negRow;
    std::vector<uint8_t> negHead;
    std::vector<float> gsum;
    std::vector<double> dots;
    double loss = 0;
  };

  double run(const BatchInput& batch, const GradientOutputs* out);
  void drawNegatives(const BatchInput& batch);
  const float* xRow(int slot) const;
  float* gradRow(ThreadState& ts, int slot);
  void processGroup(ThreadState& ts, const BatchInput& batch, int64_t group);
  void composeRow(int64_t e, float* x, float* alpha) const;
  void composeAll(std::vector<float>& X);

  EngineConfig cfg_;
  EngineTables t_;
  int threads_;
  // batch state
  std::vector<int32_t> negEnt_;
  std::vector<uint8_t> negHead_;
  std::vector<int32_t> slotOf_, anchorSlotOf_;
  std::vector<int32_t> slotEnt_, anchorSlotEnt_, relList_;
  std::vector<int32_t> slotH_, slotT_, negSlot_;
  std::vector<float> xbuf_, alpha_;
  std::vector<int32_t> order_;                 // positives ordered by group
  std::vector<int64_t> groupStart_;            // groups: order_[groupStart_[g] .. groupStart_[g+1])
  std::vector<ThreadState> ts_;
  std::vector<float> evalX_, evalP_;
};

}  // namespace adkg
