// The CUDA training engine: one per backend instance. It follows src/kge/backends/backend.ts like the
// native engine (whose config and table structs it reuses) and keeps the JS-owned tables the masters:
// every call reads the rows it needs from them and writes back the rows it changed before it returns.
//
// Placement of the entity rows (the big table) on the device:
//   resident  the whole table (and its optimizer slots) is copied to the device for the call, the steps
//             run back to back with no host round trip, and the table is copied back at the end;
//   hybrid    for tables larger than device memory: rows stay in host memory; the hottest entities of
//             the call (most frequent heads/tails) get fixed device slots for the whole call (a cache),
//             and every batch stages its other rows in and out (slot space, see kernels.h).
// trainBatch/gradients stage the rows of one batch (hybrid with no hot rows); trainRun picks resident
// when the table fits in the device memory budget, hybrid otherwise (or as forced by the options).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../../native/src/engine.h"
#include "kernels.h"

namespace adkg_cuda {

struct EngineOptions {
  std::string placement = "auto";  // auto | resident | hybrid
  double memoryBudget = 0;         // bytes of device memory this engine may use; 0 = 90% of free memory
  int64_t hotRows = -1;            // hybrid: device-cached rows; -1 = as many as the budget allows
  int typeCount = 0;               // entity types (length of typeOffsets − 1)
  // The projection GEMMs' math (kernels.h GEMM_*). 3xTF32 passes the FP32 battery and was the faster on an H200
  // (docs/benchmarks.md, session 8); below sm_80 usableGemmMath turns it into SIMT.
  int gemm = GEMM_TF32X3;
  // Thread blocks per SM the GEMM tiles are compiled for (kernels.h GemmChoice): two, staged with cp.async, were
  // 1.2–1.3× faster than one on an H200 and pass the battery (docs/benchmarks.md, session 8 run 7).
  int gemmBlocks = 2;
  // The GEMM tile (kernels.h TILE_*): the 16-byte and warpgroup tiles are opt-in until bench/kge-gpu has checked and
  // timed them on a GPU.
  int gemmTile = TILE_ELEMENT;
  // The Gram form (kernels.h DevGram) for TransR/TransRA with independent negatives and the L2 norm (elsewhere the
  // direct form runs): opt-in until bench/kge-gpu has checked and timed it on a GPU.
  bool gram = false;
  // The shared-negatives loss kernel's 16-byte variant (groupLossKernel<true>: rows padded to a multiple of 4, read
  // 16 bytes at a time; bitwise the default's on the host emulation): opt-in until bench/kge-gpu has timed it.
  bool vecSharedLoss = false;
  // Staged rows (hybrid trainRun, trainBatch, gradients) moved by the device through the page-locked host tables
  // (kernels.h StageTables) instead of host threads' memcpy into a pinned buffer and DMA copies: no host copy and no
  // host wait between batches, so the host plans batch i + 1 while the device runs batch i. Applies to the tables
  // registerHostTables page-locked (16 MB and up); the others are copied as before. Opt-in until bench/kge-gpu has
  // timed it on a GPU.
  bool mappedStaging = false;
};

struct RunInput {
  std::vector<int32_t> heads, relations, tails;  // the run's positives, in training order
  uint32_t epoch = 0;
  double offset = 0;     // epoch position of heads[0]
  int batchSize = 0;
  double firstStep = 1;  // global step of the first batch
  // The caller's word that nothing but this engine writes the host tables until its next training call
  // (trainRun, train, gradients): a resident run then keeps its device tables current (deviceCurrent_), and
  // scoreAll calls and the next trainRun use them instead of copying everything in again.
  bool keepOnDevice = false;
};

struct RunResult {
  std::string placement;
  int64_t hotRows = 0;
  double syncInSeconds = 0, stepSeconds = 0, syncOutSeconds = 0;
  bool reusedDeviceTables = false;  // the copy in was skipped (the previous run kept its tables on the device)
  bool gram = false;                 // the steps ran in the Gram form
  double residentBytes = 0;          // device bytes the run needs with every entity row resident (auto placement
                                     // goes hybrid when they exceed the memory budget)
  std::string gemmTile;              // the projection GEMMs' tile (kernels.h gemmTileName), "none" for TransE
  std::string sharedLoss;            // the shared-negatives loss kernel's reads: element, vector, or none (not that kernel)
  std::string staging;               // how hybrid batches moved their rows: copy, mapped, mixed (some tables each way),
                                     // or none (resident)
};

// Why no CUDA device can be used here ("" when device 0 is usable); name gets the device's name.
std::string deviceStatus(std::string* name, int* ccMajor, int* ccMinor, double* totalBytes);

class CudaEngine {
 public:
  CudaEngine(const adkg::EngineConfig& cfg, const adkg::EngineTables& host, const EngineOptions& opt);
  ~CudaEngine();
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;

  double train(const adkg::BatchInput& b);
  double gradients(const adkg::BatchInput& b, const adkg::GradientOutputs& out);
  void sample(const adkg::BatchInput& b, int32_t* entities, uint8_t* corruptHead);
  void scoreAll(int side, const std::vector<int32_t>& known, const std::vector<int32_t>& relations, float* out);
  // Consecutive batches of `in` (batch i has offset in.offset + i·batchSize, step firstStep + i); losses: one per batch.
  RunResult trainRun(const RunInput& in, double* losses);
  const adkg::EngineConfig& config() const { return cfg_; }

 private:
  struct HostPlan {
    std::vector<int32_t> i32;
    std::vector<int64_t> i64;
    // Offsets of the arrays in i32 / i64 and the counts (see DevPlan).
    int B = 0, G = 0, S = 0, T = 0, TM = 0, TP = 0;
    int64_t rows = 0;
    size_t order, posGroup, gRel, gPosStart, gPosCount, gChunk, segGroup, segStart, segCount, tileRel, tileCount,
        mtRel, mtCount, pairRel, pairCount;
    size_t gRow, tileRow, mtRow, pairRow;
  };
  struct Staged {
    std::vector<int32_t> slotEnt;  // entity of each staged slot (from slot `first`)
    int64_t first = 0;
  };

  void buildPlan(const int32_t* rel, int B, HostPlan& p) const;
  DevPlan devPlan(const HostPlan& hp, const int32_t* d32, const int64_t* d64) const;
  void ensureCapacity(int64_t slots);
  void ensureBatchBuffers(int B, int64_t rows, bool withP);
  void ensureSamplingOnDevice();
  void* scratch(size_t bytes, int which);
  void* pinned(size_t bytes, int which);
  // Host ↔ device rows of the entity-indexed tables (entity, anchorLogit, anchorOf, with optimizer slots).
  // Mapped staging leaves its copies enqueued (stageOut: unless `wait`) and sends `ents` up each call, so it must stay
  // unchanged until the stream has passed the call when it is page-locked (pageable memory is read before return).
  void stageIn(const int32_t* ents, int64_t count, int64_t slot0, bool withSlots);
  void stageInRange(int64_t e0, int64_t count, int64_t slot0, bool withSlots);
  void stageOut(const int32_t* ents, int64_t count, int64_t slot0, bool wait = true);
  struct RowArray {
    float* host;
    float* dev;
    int width;
  };
  // The entity-indexed tables a stage in (with or without optimizer slots) or a stage out moves.
  std::vector<RowArray> stagedArrays(bool in, bool withSlots) const;
  // The mapped part of a stage in or out: enqueues the staging kernel for the page-locked tables among
  // stagedArrays(in, withSlots) and returns the others, which the caller copies through the pinned buffer.
  std::vector<RowArray> stageMappedRows(const int32_t* ents, int64_t count, int64_t slot0, bool in, bool withSlots);
  // The staging call's entity ids, sent up (enqueued) to the device buffer the staging kernel reads.
  const int32_t* stagedEnts(const int32_t* ents, int64_t count);
  // The device's pointer to a page-locked host table (mapped staging), null when it is not page-locked.
  float* mappedTable(const float* host) const;
  // copy, mapped or mixed: how staging moves these tables now.
  std::string stagingKind() const;
  void stageOutRange(int64_t e0, int64_t count, int64_t slot0);
  void relationsIn(const std::vector<int32_t>& rels);
  void relationsOut(const std::vector<int32_t>& rels);
  void anchorsIn();
  void anchorsOut();
  // Page-locks the large host tables once (cudaHostRegister), so whole-table copies run at full bus speed
  // instead of through the driver's pageable staging; a refusal is not an error (copies stay pageable).
  void registerHostTables();
  // Plans of many batches, built on host threads (buildPlan is pure).
  void buildPlans(const int32_t* rel, int64_t L, int B, std::vector<HostPlan>& plans) const;
  // Host draw (rng.h, as native) and slot mapping of one batch for staged steps.
  void drawHost(const int32_t* heads, const int32_t* rels, const int32_t* tails, int B, uint32_t epoch, double offset,
                std::vector<int32_t>& negEnt, std::vector<uint8_t>& negHead) const;
  int32_t slotFor(int32_t e, Staged& st);
  // One step on device data that is in place; returns the loss (synchronises).
  void enqueueStep(const DevPlan& plan, const DevBatch& batch, double step, double* lossAccum, const GradOut* out);
  void enqueueDirect(const DevPlan& plan, const DevBatch& batch, const DevModel& m);
  double stagedStep(const adkg::BatchInput& b, const adkg::GradientOutputs* out);
  void profMark(int i);
  void profReport(const char* what);
  size_t bytesPerSlot() const;
  size_t batchBytes(int B, int64_t rows) const;
  int64_t maxRows(int B) const;

  adkg::EngineConfig cfg_;
  adkg::EngineTables host_;
  EngineOptions opt_;
  DevConfig dc_;
  int device_ = 0;
  size_t sharedLimit_ = 48 * 1024;
  int smCount_ = 1;  // the device's SMs, for sizing the ∂M partial sums
  GemmChoice gemm() const { return {opt_.gemm, opt_.gemmBlocks, opt_.gemmTile, smCount_}; }
  // The Gram form's buffers (Z and Q are the batch's P and ∂P buffers, rows × max(k, d) floats then) when it runs.
  bool gramOn_ = false;
  DevGram gram_{};
  int64_t rowFloats() const { return gramOn_ ? std::max(cfg_.k, cfg_.d) : cfg_.k; }
  cudaStream_t stream_ = nullptr;
  DevModel m_{};
  DevSampling smp_{};
  bool samplingOnDevice_ = false;
  int64_t capacity_ = 0;
  // batch buffers
  int batchCap_ = 0;
  int64_t rowCap_ = 0;
  int32_t *dHSlot_ = nullptr, *dRel_ = nullptr, *dTSlot_ = nullptr, *dNegSlot_ = nullptr, *dHIdx_ = nullptr,
          *dTIdx_ = nullptr, *dNIdx_ = nullptr, *dRowSlot_ = nullptr;
  uint8_t *dNegHead_ = nullptr, *dNHead_ = nullptr;
  float *dP_ = nullptr, *dDP_ = nullptr;
  float* dE_ = nullptr;        // the Gram form's E (2B × k)
  int32_t* dESlot_ = nullptr;  // and its slots (2B)
  std::vector<void*> scratch_{6, nullptr};
  std::vector<size_t> scratchSize_ = std::vector<size_t>(6, 0);
  std::vector<void*> pinned_{6, nullptr};
  std::vector<size_t> pinnedSize_ = std::vector<size_t>(6, 0);
  // Mapped staging's hybrid batches send their small host arrays (entity ids, slots, negatives) up from two page-locked
  // buffers in turn (pinned_ 4 and 5), each rewritten only once the event recorded behind its last uploads has passed:
  // copies from page-locked memory do not wait for the stream, so the host never waits for the device between batches.
  cudaEvent_t uploaded_[2] = {nullptr, nullptr};
  bool uploadPending_[2] = {false, false};
  std::vector<int32_t> slotOf_;  // entity → staged slot, -1 when none
  std::vector<int32_t> hotSlot_;
  // True after a resident trainRun with keepOnDevice, until the next training call: the device slots hold
  // every entity at slot = id with the host tables' values (the run copied everything back, and the caller
  // promised nothing else writes the host tables). A call that stages rows into slots clears it.
  // ADKG_CUDA_KEEP_RESIDENT=0 never sets it.
  bool deviceCurrent_ = false;
  bool registerTried_ = false;
  std::vector<void*> registered_;
  std::vector<std::pair<const void*, void*>> mapped_;  // registered host table → the device's pointer to it
  // Mapped staging's device copy of a staging call's entity ids (stream-ordered: each call's upload lands after the
  // previous call's kernel has read it).
  int32_t* dStageEnt_ = nullptr;
  int64_t stageEntCap_ = 0;
  bool profile_ = false;
  static constexpr int PROF_PHASES = 6;  // index+compose, project, loss, backward-x, backward-M, optimizer
  cudaEvent_t profEvents_[PROF_PHASES + 1] = {};
  double profMs_[PROF_PHASES] = {};
};

}  // namespace adkg_cuda
