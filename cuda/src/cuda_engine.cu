#include "cuda_engine.h"
#include "mma_layout.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <utility>

#include "../../native/src/rng.h"  // the host mirror of src/common/rng.ts, shared with the native engine
#include "../../native/src/thread_pool.h"
#include "device_rng.cuh"

namespace adkg_cuda {

namespace {

#define CK(call)                                                                                             \
  do {                                                                                                       \
    cudaError_t e_ = (call);                                                                                 \
    if (e_ != cudaSuccess)                                                                                   \
      throw std::runtime_error(std::string("cuda backend: ") + #call + " failed: " + cudaGetErrorString(e_)); \
  } while (0)

template <typename T>
void devAlloc(T** p, size_t count, bool zero = false) {
  if (*p) CK(cudaFree(*p));
  *p = nullptr;
  if (count == 0) return;
  CK(cudaMalloc(reinterpret_cast<void**>(p), count * sizeof(T)));
  if (zero) CK(cudaMemset(*p, 0, count * sizeof(T)));
}
template <typename T>
void devFree(T*& p) {
  if (p) cudaFree(p);
  p = nullptr;
}

// fn(begin, end) over [0, n) in contiguous pieces on up to 16 host threads of the native engine's pool (one
// piece, on this thread, when n is below 2·minPerThread): the host side of staging and planning, where every
// index writes its own rows. An exception in a piece is rethrown here once all pieces are done.
template <class F>
void parallelFor(int64_t n, int64_t minPerThread, const F& fn) {
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t pieces = std::min<int64_t>({16, hw, n / std::max<int64_t>(1, minPerThread)});
  if (pieces < 2) {
    if (n > 0) fn(0, n);
    return;
  }
  std::vector<std::exception_ptr> errors(pieces);
  adkg::ThreadPool::instance().run(pieces, (int)pieces, [&](int64_t t, int) {
    try {
      fn(n * t / pieces, n * (t + 1) / pieces);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  });
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string deviceStatus(std::string* name, int* ccMajor, int* ccMinor, double* totalBytes) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return std::string("no CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(e) + ")";
  if (n == 0) return "no CUDA device (the driver reports 0 devices)";
  cudaDeviceProp p;
  e = cudaGetDeviceProperties(&p, 0);
  if (e != cudaSuccess) return std::string("no usable CUDA device (cudaGetDeviceProperties: ") + cudaGetErrorString(e) + ")";
  if (name) *name = p.name;
  if (ccMajor) *ccMajor = p.major;
  if (ccMinor) *ccMinor = p.minor;
  if (totalBytes) *totalBytes = (double)p.totalGlobalMem;
#ifdef ADKG_CUDA_MIN_CC
  if (p.major * 10 + p.minor < ADKG_CUDA_MIN_CC)
    return std::string("CUDA device ") + p.name + " has compute capability " + std::to_string(p.major) + "." +
           std::to_string(p.minor) + ", below what this build carries code for (rebuild with ADKG_CUDA_ARCHS)";
#endif
  return "";
}

CudaEngine::CudaEngine(const adkg::EngineConfig& cfg, const adkg::EngineTables& host, const EngineOptions& opt)
    : cfg_(cfg), host_(host), opt_(opt) {
  opt_.gemm = usableGemmMath(opt_.gemm);  // what the kernels will run, so that the profile line names it
  std::string why = deviceStatus(nullptr, nullptr, nullptr, nullptr);
  if (!why.empty()) throw std::runtime_error("cuda backend unavailable: " + why);
  CK(cudaSetDevice(device_));
  int optin = 0;
  CK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device_));
  sharedLimit_ = (size_t)optin;
  CK(cudaDeviceGetAttribute(&smCount_, cudaDevAttrMultiProcessorCount, device_));
  if (cfg.model == adkg::MODEL_TRANSRA && cfg.K > 32)
    throw std::runtime_error("cuda backend: at most 32 anchors per entity are supported (got " + std::to_string(cfg.K) + ")");
  CK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));

  dc_.loss = cfg.loss;
  dc_.norm = cfg.norm;
  dc_.sampling = cfg.sampling;
  dc_.chunkSize = cfg.chunkSize;
  dc_.corruption = cfg.corruption;
  dc_.margin = (float)cfg.margin;
  dc_.tau = (float)cfg.tau;
  dc_.entityOptimizer = cfg.entityOptimizer;
  dc_.relationOptimizer = cfg.relationOptimizer;
  dc_.lr = (float)cfg.lr;
  dc_.relationLr = (float)cfg.relationLr;
  dc_.unitBall = cfg.unitBall;
  dc_.learnAnchorWeights = cfg.learnAnchorWeights;
  dc_.vecSharedLoss = opt_.vecSharedLoss;
  dc_.seed = cfg.seed;

  m_.model = cfg.model;
  m_.d = cfg.d;
  m_.k = cfg.k;
  m_.K = cfg.K;
  m_.n = cfg.negatives;
  m_.R = cfg.R;
  m_.A = cfg.A;
  DevPlan none{};
  DevBatch nb{};
  if (launchLoss(stream_, m_, none, nb, dc_, sharedLimit_, true) < 0)
    throw std::runtime_error("cuda backend: relDim " + std::to_string(cfg.k) + " with " + std::to_string(cfg.negatives) +
                             " negatives needs more shared memory than the device has per block");
  gramOn_ = opt_.gram && gramApplies(m_, dc_, sharedLimit_);
  // The 16-byte or warpgroup tile where any of the engine's GEMMs takes it ((d, k); the Gram form's are (d, d)).
  const bool bigTile = opt_.gemmTile != TILE_ELEMENT && (gemmTileFor(gemm(), cfg_.d, cfg_.k) != TILE_ELEMENT ||
                                                         (gramOn_ && gemmTileFor(gemm(), cfg_.d, cfg_.d) != TILE_ELEMENT));
  if (bigTile && (opt_.gemmTile == TILE_WGMMA || opt_.gemmTile == TILE_STATIONARY)) {
    // wgmma.mma_async is in the sm_90a machine code only (cuda/build.js), which runs on compute capability 9.0 alone.
    const std::string what = std::string("options.gemmTile ") + gemmTileName(opt_.gemmTile);
    const int bytes = opt_.gemmTile == TILE_WGMMA ? mma::wg::SMEM_BYTES : mma::stationary::SMEM_BYTES;
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, device_));
    if (p.major != 9 || p.minor != 0)
      throw std::runtime_error(what + " needs a GPU of compute capability 9.0 (H100, H200); " + p.name + " has " +
                               std::to_string(p.major) + "." + std::to_string(p.minor) + " (use gemmTile element or chunk)");
#if !defined(ADKG_CUDA_SM90A)
    throw std::runtime_error(what + ": this build has no sm_90a machine code (rebuild with ADKG_CUDA_ARCHS including 90)");
#endif
    if (optin < bytes)
      throw std::runtime_error(what + " needs " + std::to_string(bytes) + " bytes of shared memory per block; this device allows " +
                               std::to_string(optin));
  }
  if (bigTile && opt_.gemmTile == TILE_CHUNK) {
    if (optin < mma::chunk::SMEM_BYTES)
      throw std::runtime_error("options.gemmTile chunk needs " + std::to_string(mma::chunk::SMEM_BYTES) +
                               " bytes of shared memory per block; this device allows " + std::to_string(optin) +
                               " (use gemmTile element)");
    // Two blocks of the 16-byte tile need 2 × (110,592 + 1,024 reserved) bytes of an SM: an sm_90 has them, an sm_80
    // (164 KB) does not, and would run one block under the two-block register cap: build for one there.
    int perSm = 0;
    CK(cudaDeviceGetAttribute(&perSm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device_));
    if (opt_.gemmBlocks == 2 && perSm < 2 * (mma::chunk::SMEM_BYTES + 1024)) opt_.gemmBlocks = 1;
  }
  const size_t R = cfg.R, k = cfg.k, d = cfg.d, A = cfg.A;
  if (gramOn_) {
    devAlloc(&gram_.G, R * d * d);
    devAlloc(&gram_.w, R * d);
    devAlloc(&gram_.rho, R);
    devAlloc(&gram_.S, R * d * d);
    devAlloc(&gram_.b, R * d);
    devAlloc(&gram_.K, R);
  }
  const bool relAdam = cfg.relationOptimizer == OPT_ADAM, entAdam = cfg.entityOptimizer == OPT_ADAM;
  devAlloc(&m_.relation.w, R * k);
  devAlloc(&m_.relation.s1, R * k);
  if (relAdam) devAlloc(&m_.relation.s2, R * k);
  devAlloc(&m_.gradR, R * k, true);
  devAlloc(&m_.relTouched, R, true);
  if (cfg.model != adkg::MODEL_TRANSE) {
    devAlloc(&m_.projection.w, R * k * d);
    devAlloc(&m_.projection.s1, R * k * d);
    if (relAdam) devAlloc(&m_.projection.s2, R * k * d);
    devAlloc(&m_.gradM, R * k * d, true);
  }
  if (cfg.model == adkg::MODEL_TRANSRA && A > 0) {
    devAlloc(&m_.anchor.w, A * d);
    devAlloc(&m_.anchor.s1, A * d);
    if (entAdam) devAlloc(&m_.anchor.s2, A * d);
    devAlloc(&m_.gradA, A * d, true);
    devAlloc(&m_.anchorTouched, A, true);
  }
  devAlloc(&m_.lossAccum, 1, true);
  slotOf_.assign((size_t)cfg.N, -1);
}

CudaEngine::~CudaEngine() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  for (float* p : {m_.entity.w, m_.entity.s1, m_.entity.s2, m_.relation.w, m_.relation.s1, m_.relation.s2,
                   m_.projection.w, m_.projection.s1, m_.projection.s2, m_.anchor.w, m_.anchor.s1, m_.anchor.s2,
                   m_.anchorLogit.w, m_.anchorLogit.s1, m_.anchorLogit.s2, m_.gradX, m_.composed, m_.alpha, m_.gradR,
                   m_.gradM, m_.gradA, dP_, dDP_, dE_, gram_.G, gram_.w, gram_.rho, gram_.S, gram_.b, gram_.K})
    if (p) cudaFree(p);
  for (void* p : {(void*)m_.anchorOf, (void*)m_.touched, (void*)m_.relTouched, (void*)m_.anchorTouched,
                  (void*)m_.lossAccum, (void*)dHSlot_, (void*)dRel_, (void*)dTSlot_, (void*)dNegSlot_, (void*)dHIdx_,
                  (void*)dTIdx_, (void*)dNIdx_, (void*)dRowSlot_, (void*)dNegHead_, (void*)dNHead_, (void*)dESlot_,
                  (void*)smp_.headProb, (void*)smp_.entityType, (void*)smp_.typeOffsets, (void*)smp_.typeMembers})
    if (p) cudaFree(p);
  for (void* p : scratch_)
    if (p) cudaFree(p);
  for (void* p : pinned_)
    if (p) cudaFreeHost(p);
  if (dStageEnt_) cudaFree(dStageEnt_);
  for (void* p : registered_) cudaHostUnregister(p);  // before the wrapper lets go of the JS tables
  for (auto e : profEvents_)
    if (e) cudaEventDestroy(e);
  for (auto e : uploaded_)
    if (e) cudaEventDestroy(e);
  if (stream_) cudaStreamDestroy(stream_);
}

// ---- memory ----------------------------------------------------------------------------------------

size_t CudaEngine::bytesPerSlot() const {
  const size_t d = cfg_.d, K = cfg_.K;
  size_t slots = cfg_.entityOptimizer == OPT_ADAM ? 2 : 1;
  size_t b = d * 4 * (1 + slots + 1) + 1;  // w, s1(, s2), grad, touched
  if (cfg_.model == adkg::MODEL_TRANSRA) b += d * 4 + K * 4 * (1 + 1 + 1 + slots);  // composed, anchorOf, alpha, logit(+slots)
  return b;
}

int64_t CudaEngine::maxRows(int B) const {
  if (cfg_.model == adkg::MODEL_TRANSE) return 0;
  if (cfg_.sampling == adkg::SAMPLING_SHARED) {
    // Every (chunk, relation) group has 2P + n rows; at most B groups.
    int64_t groupsMax = std::min<int64_t>(B, (int64_t)((B + cfg_.chunkSize - 1) / cfg_.chunkSize) * cfg_.R);
    return 2 * (int64_t)B + groupsMax * cfg_.negatives;
  }
  return (int64_t)B * (2 + cfg_.negatives);
}

size_t CudaEngine::batchBytes(int B, int64_t rows) const {
  const size_t n = cfg_.negatives;
  return (size_t)B * (4 * 5 + n * 10) + (size_t)rows * (4 + 8 * rowFloats()) + (size_t)B * 40 +
         (gramOn_ ? (size_t)B * 2 * (4 * cfg_.k + 4) : 0);
}

void CudaEngine::ensureCapacity(int64_t slots) {
  if (slots <= capacity_) return;
  int64_t cap = std::max<int64_t>(slots, std::min<int64_t>(cfg_.N, capacity_ + capacity_ / 2));
  const size_t d = cfg_.d, K = cfg_.K, c = (size_t)cap;
  const bool adam = cfg_.entityOptimizer == OPT_ADAM;
  devAlloc(&m_.entity.w, c * d);
  devAlloc(&m_.entity.s1, c * d);
  if (adam) devAlloc(&m_.entity.s2, c * d);
  devAlloc(&m_.gradX, c * d, true);
  devAlloc(&m_.touched, c, true);
  if (cfg_.model == adkg::MODEL_TRANSRA) {
    devAlloc(&m_.composed, c * d);
    devAlloc(&m_.alpha, c * K);
    devAlloc(&m_.anchorLogit.w, c * K);
    if (host_.anchorLogitSlots.s1) devAlloc(&m_.anchorLogit.s1, c * K);
    if (host_.anchorLogitSlots.s2) devAlloc(&m_.anchorLogit.s2, c * K);
    int32_t* of = const_cast<int32_t*>(m_.anchorOf);
    devAlloc(&of, c * K);
    m_.anchorOf = of;
  }
  capacity_ = cap;
  m_.capacity = cap;
}

void CudaEngine::ensureBatchBuffers(int B, int64_t rows, bool withP) {
  const int64_t n = cfg_.negatives;
  if (B > batchCap_) {
    devAlloc(&dHSlot_, B);
    devAlloc(&dRel_, B);
    devAlloc(&dTSlot_, B);
    devAlloc(&dNegSlot_, (size_t)B * n);
    devAlloc(&dNegHead_, (size_t)B * n);
    devAlloc(&dHIdx_, B);
    devAlloc(&dTIdx_, B);
    devAlloc(&dNIdx_, (size_t)B * n);
    devAlloc(&dNHead_, (size_t)B * n);
    if (gramOn_) {
      devAlloc(&dE_, (size_t)2 * B * cfg_.k);
      devAlloc(&dESlot_, (size_t)2 * B);
    }
    batchCap_ = B;
  }
  if (withP && rows > rowCap_) {
    devAlloc(&dRowSlot_, rows);
    devAlloc(&dP_, (size_t)rows * rowFloats());
    devAlloc(&dDP_, (size_t)rows * rowFloats());
    rowCap_ = rows;
  }
}

void* CudaEngine::scratch(size_t bytes, int which) {
  if (bytes > scratchSize_[which]) {
    if (scratch_[which]) CK(cudaFree(scratch_[which]));
    scratch_[which] = nullptr;
    CK(cudaMalloc(&scratch_[which], bytes));
    scratchSize_[which] = bytes;
  }
  return scratch_[which];
}

void* CudaEngine::pinned(size_t bytes, int which) {
  if (bytes > pinnedSize_[which]) {
    if (pinned_[which]) CK(cudaFreeHost(pinned_[which]));
    pinned_[which] = nullptr;
    CK(cudaHostAlloc(&pinned_[which], bytes, cudaHostAllocDefault));
    pinnedSize_[which] = bytes;
  }
  return pinned_[which];
}

void CudaEngine::ensureSamplingOnDevice() {
  if (samplingOnDevice_) return;
  const size_t R = cfg_.R, N = (size_t)cfg_.N;
  double* hp = nullptr;
  devAlloc(&hp, R);
  CK(cudaMemcpyAsync(hp, host_.headProb, R * sizeof(double), cudaMemcpyHostToDevice, stream_));
  smp_.headProb = hp;
  if (cfg_.corruption == adkg::CORRUPT_TYPED) {
    int32_t *et = nullptr, *to = nullptr, *tm = nullptr;
    devAlloc(&et, N);
    devAlloc(&to, (size_t)opt_.typeCount + 1);
    devAlloc(&tm, N);
    CK(cudaMemcpyAsync(et, host_.entityType, N * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(to, host_.typeOffsets, ((size_t)opt_.typeCount + 1) * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(tm, host_.typeMembers, N * 4, cudaMemcpyHostToDevice, stream_));
    smp_.entityType = et;
    smp_.typeOffsets = to;
    smp_.typeMembers = tm;
  }
  CK(cudaStreamSynchronize(stream_));
  smp_.N = cfg_.N;
  samplingOnDevice_ = true;
}

// ---- staging rows between the JS tables and device slots ------------------------------------------------

namespace {
constexpr int64_t kRowsPerThread = 8192;  // staged rows per host thread (a few MB of memcpy each)
}  // namespace

std::vector<CudaEngine::RowArray> CudaEngine::stagedArrays(bool in, bool withSlots) const {
  const int d = cfg_.d, K = cfg_.K;
  std::vector<RowArray> arrays = {{host_.entity, m_.entity.w, d}};
  if (withSlots) {
    arrays.push_back({host_.entitySlots.s1, m_.entity.s1, d});
    if (host_.entitySlots.s2) arrays.push_back({host_.entitySlots.s2, m_.entity.s2, d});
  }
  if (cfg_.model == adkg::MODEL_TRANSRA) {
    arrays.push_back({host_.anchorLogit, m_.anchorLogit.w, K});
    if (in)  // read-only on the device: never staged out
      arrays.push_back({reinterpret_cast<float*>(const_cast<int32_t*>(host_.anchorOf)),
                        reinterpret_cast<float*>(const_cast<int32_t*>(m_.anchorOf)), K});
    if (withSlots && host_.anchorLogitSlots.s1) arrays.push_back({host_.anchorLogitSlots.s1, m_.anchorLogit.s1, K});
    if (withSlots && host_.anchorLogitSlots.s2) arrays.push_back({host_.anchorLogitSlots.s2, m_.anchorLogit.s2, K});
  }
  return arrays;
}

float* CudaEngine::mappedTable(const float* host) const {
  for (const auto& [h, dev] : mapped_)
    if (h == host) return static_cast<float*>(dev);
  return nullptr;
}

std::string CudaEngine::stagingKind() const {
  if (!opt_.mappedStaging) return "copy";
  int mapped = 0;
  const auto arrays = stagedArrays(true, true);
  for (const auto& a : arrays) mapped += mappedTable(a.host) != nullptr;
  return mapped == 0 ? "copy" : mapped == (int)arrays.size() ? "mapped" : "mixed";
}

std::vector<CudaEngine::RowArray> CudaEngine::stageMappedRows(const int32_t* ents, int64_t count, int64_t slot0,
                                                              bool in, bool withSlots) {
  StageTables mapped;
  std::vector<RowArray> copied;
  for (const auto& a : stagedArrays(in, withSlots)) {
    float* dev = opt_.mappedStaging ? mappedTable(a.host) : nullptr;
    if (dev && mapped.count < StageTables::MAX) {
      mapped.host[mapped.count] = dev;
      mapped.dev[mapped.count] = a.dev;
      mapped.width[mapped.count++] = a.width;
    } else {
      copied.push_back(a);
    }
  }
  if (mapped.count > 0) {
    launchStageRows(stream_, mapped, stagedEnts(ents, count), count, slot0, in, smCount_);
    CK(cudaGetLastError());
  }
  return copied;
}

const int32_t* CudaEngine::stagedEnts(const int32_t* ents, int64_t count) {
  if (count > stageEntCap_) {
    devAlloc(&dStageEnt_, (size_t)count);
    stageEntCap_ = count;
  }
  CK(cudaMemcpyAsync(dStageEnt_, ents, (size_t)count * 4, cudaMemcpyHostToDevice, stream_));
  return dStageEnt_;
}

void CudaEngine::stageIn(const int32_t* ents, int64_t count, int64_t slot0, bool withSlots) {
  if (count == 0) return;
  const std::vector<RowArray> arrays = stageMappedRows(ents, count, slot0, true, withSlots);
  if (arrays.empty()) return;
  size_t total = 0;
  for (auto& a : arrays) total += (size_t)count * a.width;
  float* buf = static_cast<float*>(pinned(total * 4, 0));
  size_t off = 0;
  for (auto& a : arrays) {
    float* dst = buf + off;
    parallelFor(count, kRowsPerThread, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++)
        std::memcpy(dst + i * a.width, a.host + (int64_t)ents[i] * a.width, sizeof(float) * a.width);
    });
    CK(cudaMemcpyAsync(a.dev + slot0 * a.width, dst, sizeof(float) * count * a.width, cudaMemcpyHostToDevice, stream_));
    off += (size_t)count * a.width;
  }
  CK(cudaStreamSynchronize(stream_));  // the pinned buffer is reused by the next staging call
}

// Every host → device copy goes on stream_: it is non-blocking, so its kernels would not wait for a plain
// cudaMemcpy on the legacy stream, which may return before a pageable source has reached the device.
void CudaEngine::stageInRange(int64_t e0, int64_t count, int64_t slot0, bool withSlots) {
  if (count == 0) return;
  const int d = cfg_.d, K = cfg_.K;
  auto put = [&](float* dev, const float* hostArr, int w) {
    CK(cudaMemcpyAsync(dev + slot0 * w, hostArr + e0 * w, sizeof(float) * count * w, cudaMemcpyHostToDevice, stream_));
  };
  put(m_.entity.w, host_.entity, d);
  if (withSlots) {
    put(m_.entity.s1, host_.entitySlots.s1, d);
    if (host_.entitySlots.s2) put(m_.entity.s2, host_.entitySlots.s2, d);
  }
  if (cfg_.model == adkg::MODEL_TRANSRA) {
    put(m_.anchorLogit.w, host_.anchorLogit, K);
    CK(cudaMemcpyAsync(const_cast<int32_t*>(m_.anchorOf) + slot0 * K, host_.anchorOf + e0 * K,
                       sizeof(int32_t) * count * K, cudaMemcpyHostToDevice, stream_));
    if (withSlots && host_.anchorLogitSlots.s1) put(m_.anchorLogit.s1, host_.anchorLogitSlots.s1, K);
    if (withSlots && host_.anchorLogitSlots.s2) put(m_.anchorLogit.s2, host_.anchorLogitSlots.s2, K);
  }
  CK(cudaStreamSynchronize(stream_));  // pinned sources copy asynchronously: done before JS may touch them
}

void CudaEngine::stageOut(const int32_t* ents, int64_t count, int64_t slot0, bool wait) {
  if (count == 0) return;
  const std::vector<RowArray> arrays = stageMappedRows(ents, count, slot0, false, true);
  if (arrays.empty()) {
    if (wait) CK(cudaStreamSynchronize(stream_));
    return;
  }
  size_t total = 0;
  for (auto& a : arrays) total += (size_t)count * a.width;
  float* buf = static_cast<float*>(pinned(total * 4, 1));
  size_t off = 0;
  for (auto& a : arrays) {
    CK(cudaMemcpyAsync(buf + off, a.dev + slot0 * a.width, sizeof(float) * count * a.width, cudaMemcpyDeviceToHost,
                       stream_));
    off += (size_t)count * a.width;
  }
  CK(cudaStreamSynchronize(stream_));
  off = 0;
  for (auto& a : arrays) {
    const float* src = buf + off;
    // Staged entities are distinct (one slot each), so the pieces write disjoint host rows.
    parallelFor(count, kRowsPerThread, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++)
        std::memcpy(a.host + (int64_t)ents[i] * a.width, src + i * a.width, sizeof(float) * a.width);
    });
    off += (size_t)count * a.width;
  }
}

void CudaEngine::stageOutRange(int64_t e0, int64_t count, int64_t slot0) {
  if (count == 0) return;
  CK(cudaStreamSynchronize(stream_));
  const int d = cfg_.d, K = cfg_.K;
  auto get = [&](float* hostArr, const float* dev, int w) {
    CK(cudaMemcpy(hostArr + e0 * w, dev + slot0 * w, sizeof(float) * count * w, cudaMemcpyDeviceToHost));
  };
  get(host_.entity, m_.entity.w, d);
  get(host_.entitySlots.s1, m_.entity.s1, d);
  if (host_.entitySlots.s2) get(host_.entitySlots.s2, m_.entity.s2, d);
  if (cfg_.model == adkg::MODEL_TRANSRA) {
    get(host_.anchorLogit, m_.anchorLogit.w, K);
    if (host_.anchorLogitSlots.s1) get(host_.anchorLogitSlots.s1, m_.anchorLogit.s1, K);
    if (host_.anchorLogitSlots.s2) get(host_.anchorLogitSlots.s2, m_.anchorLogit.s2, K);
  }
}

void CudaEngine::relationsIn(const std::vector<int32_t>& rels) {
  const size_t k = cfg_.k, kd = (size_t)cfg_.k * cfg_.d;
  const bool all = (int)rels.size() == cfg_.R;
  auto put = [&](float* dev, const float* h, size_t w) {
    if (!dev || !h) return;
    if (all) {
      CK(cudaMemcpyAsync(dev, h, sizeof(float) * w * cfg_.R, cudaMemcpyHostToDevice, stream_));
      return;
    }
    for (int32_t r : rels) CK(cudaMemcpyAsync(dev + r * w, h + r * w, sizeof(float) * w, cudaMemcpyHostToDevice, stream_));
  };
  put(m_.relation.w, host_.relation, k);
  put(m_.relation.s1, host_.relationSlots.s1, k);
  put(m_.relation.s2, host_.relationSlots.s2, k);
  if (cfg_.model != adkg::MODEL_TRANSE) {
    put(m_.projection.w, host_.projection, kd);
    put(m_.projection.s1, host_.projectionSlots.s1, kd);
    put(m_.projection.s2, host_.projectionSlots.s2, kd);
  }
  CK(cudaStreamSynchronize(stream_));  // pageable sources: finish before JS may touch them again
}

void CudaEngine::relationsOut(const std::vector<int32_t>& rels) {
  CK(cudaStreamSynchronize(stream_));
  const size_t k = cfg_.k, kd = (size_t)cfg_.k * cfg_.d;
  const bool all = (int)rels.size() == cfg_.R;
  auto get = [&](float* h, const float* dev, size_t w) {
    if (!dev || !h) return;
    if (all) {
      CK(cudaMemcpy(h, dev, sizeof(float) * w * cfg_.R, cudaMemcpyDeviceToHost));
      return;
    }
    for (int32_t r : rels) CK(cudaMemcpy(h + r * w, dev + r * w, sizeof(float) * w, cudaMemcpyDeviceToHost));
  };
  get(host_.relation, m_.relation.w, k);
  get(host_.relationSlots.s1, m_.relation.s1, k);
  get(host_.relationSlots.s2, m_.relation.s2, k);
  if (cfg_.model != adkg::MODEL_TRANSE) {
    get(host_.projection, m_.projection.w, kd);
    get(host_.projectionSlots.s1, m_.projection.s1, kd);
    get(host_.projectionSlots.s2, m_.projection.s2, kd);
  }
}

void CudaEngine::anchorsIn() {
  if (cfg_.model != adkg::MODEL_TRANSRA || cfg_.A == 0) return;
  const size_t n = (size_t)cfg_.A * cfg_.d * sizeof(float);
  CK(cudaMemcpyAsync(m_.anchor.w, host_.anchor, n, cudaMemcpyHostToDevice, stream_));
  CK(cudaMemcpyAsync(m_.anchor.s1, host_.anchorSlots.s1, n, cudaMemcpyHostToDevice, stream_));
  if (m_.anchor.s2) CK(cudaMemcpyAsync(m_.anchor.s2, host_.anchorSlots.s2, n, cudaMemcpyHostToDevice, stream_));
  CK(cudaStreamSynchronize(stream_));
}

void CudaEngine::anchorsOut() {
  if (cfg_.model != adkg::MODEL_TRANSRA || cfg_.A == 0) return;
  CK(cudaStreamSynchronize(stream_));
  const size_t n = (size_t)cfg_.A * cfg_.d * sizeof(float);
  CK(cudaMemcpy(host_.anchor, m_.anchor.w, n, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(host_.anchorSlots.s1, m_.anchor.s1, n, cudaMemcpyDeviceToHost));
  if (m_.anchor.s2) CK(cudaMemcpy(host_.anchorSlots.s2, m_.anchor.s2, n, cudaMemcpyDeviceToHost));
}

void CudaEngine::registerHostTables() {
  if (registerTried_) return;
  registerTried_ = true;
  const char* pin = std::getenv("ADKG_CUDA_PIN");
  if (pin && std::string(pin) == "0") return;
  const size_t N = (size_t)cfg_.N, d = cfg_.d, K = cfg_.K, kd = (size_t)cfg_.k * cfg_.d * cfg_.R;
  const std::pair<const void*, size_t> arrays[] = {
      {host_.entity, N * d * 4},          {host_.entitySlots.s1, N * d * 4}, {host_.entitySlots.s2, N * d * 4},
      {host_.anchorLogit, N * K * 4},     {host_.anchorOf, N * K * 4},       {host_.anchorLogitSlots.s1, N * K * 4},
      {host_.anchorLogitSlots.s2, N * K * 4}, {host_.projection, kd * 4},    {host_.projectionSlots.s1, kd * 4},
      {host_.projectionSlots.s2, kd * 4}};
  // Only large tables (small ones copy fast enough pageable). Tables malloc'd below glibc's mmap threshold (which
  // rises after a large free) may lie back to back and share a page, which CUDA registers once: so the tables' page
  // ranges are merged where they overlap and each merged range is registered whole. A range refused (a page already
  // registered by another engine) leaves its tables pageable, only slower.
  constexpr uintptr_t kPage = 4096;
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;  // [first page, end page) of each table
  for (const auto& [ptr, bytes] : arrays) {
    if (!ptr || bytes < ((size_t)16 << 20)) continue;
    const uintptr_t a = reinterpret_cast<uintptr_t>(ptr);
    ranges.emplace_back(a / kPage * kPage, (a + bytes + kPage - 1) / kPage * kPage);
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uintptr_t, uintptr_t>> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first < merged.back().second) merged.back().second = std::max(merged.back().second, r.second);
    else merged.push_back(r);
  }
  std::vector<bool> ok(merged.size(), false);
  for (size_t i = 0; i < merged.size(); i++) {
    void* p = reinterpret_cast<void*>(merged[i].first);
    ok[i] = cudaHostRegister(p, merged[i].second - merged[i].first, cudaHostRegisterDefault) == cudaSuccess;
    if (ok[i]) registered_.push_back(p);
    else (void)cudaGetLastError();  // not sticky: clear it and copy pageable
  }
  // With unified addressing (every 64-bit host an sm_90 GPU runs on) registered memory is also mapped: the device may
  // read and write it, through the pointer this returns (mapped staging). Only a table inside a range this engine
  // registered: one that merely starts in another engine's range may run past it.
  for (const auto& [ptr, bytes] : arrays) {
    if (!ptr || bytes < ((size_t)16 << 20)) continue;
    const uintptr_t a = reinterpret_cast<uintptr_t>(ptr);
    size_t i = 0;
    while (i < merged.size() && !(merged[i].first <= a && a + bytes <= merged[i].second)) i++;
    void* dev = nullptr;
    if (i == merged.size() || !ok[i]) continue;
    if (cudaHostGetDevicePointer(&dev, const_cast<void*>(ptr), 0) == cudaSuccess && dev) mapped_.emplace_back(ptr, dev);
    else (void)cudaGetLastError();  // registered but not mapped (no unified addressing): copied
  }
}

// ---- plans -------------------------------------------------------------------------------------------

void CudaEngine::buildPlans(const int32_t* rel, int64_t L, int B, std::vector<HostPlan>& plans) const {
  parallelFor((int64_t)plans.size(), 2, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const int64_t s = i * B;
      buildPlan(rel + s, (int)std::min<int64_t>(B, L - s), plans[i]);
    }
  });
}

void CudaEngine::buildPlan(const int32_t* rel, int B, HostPlan& p) const {
  p = HostPlan();
  p.B = B;
  const bool shared = cfg_.sampling == adkg::SAMPLING_SHARED, projected = cfg_.model != adkg::MODEL_TRANSE;
  const int n = cfg_.negatives, C = cfg_.chunkSize;
  struct Group {
    int32_t rel, chunk, start, count;  // start: in `tmp`
  };
  std::vector<int32_t> tmp(B);
  std::vector<Group> groups;
  if (!shared) {
    // Counting sort of the batch by relation.
    std::vector<int32_t> rels;
    std::vector<int32_t> cnt;
    std::vector<std::pair<int32_t, int32_t>> byRel;  // (relation, position): sorted, stable
    byRel.reserve(B);
    for (int i = 0; i < B; i++) byRel.push_back({rel[i], i});
    std::stable_sort(byRel.begin(), byRel.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (int i = 0; i < B;) {
      int j = i;
      while (j < B && byRel[j].first == byRel[i].first) {
        tmp[j] = byRel[j].second;
        j++;
      }
      groups.push_back({byRel[i].first, 0, i, j - i});
      i = j;
    }
  } else {
    std::vector<std::pair<int32_t, int32_t>> chunk;
    for (int c0 = 0, ci = 0; c0 < B; c0 += C, ci++) {
      int c1 = std::min(B, c0 + C);
      chunk.clear();
      for (int i = c0; i < c1; i++) chunk.push_back({rel[i], i});
      std::stable_sort(chunk.begin(), chunk.end(), [](auto& a, auto& b) { return a.first < b.first; });
      for (int i = 0; i < (int)chunk.size();) {
        int j = i;
        while (j < (int)chunk.size() && chunk[j].first == chunk[i].first) {
          tmp[c0 + j] = chunk[j].second;
          j++;
        }
        groups.push_back({chunk[i].first, ci, c0 + i, j - i});
        i = j;
      }
    }
    // Groups of one relation next to each other, so ∂M sums run over contiguous rows.
    std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) { return a.rel < b.rel; });
  }
  const int G = (int)groups.size();
  p.G = G;
  std::vector<int32_t> order(B), posGroup(B), gRel(G), gPosStart(G), gPosCount(G), gChunk(G);
  std::vector<int64_t> gRow(G);
  std::vector<int32_t> segGroup, segStart, segCount, tileRel, tileCount, mtRel, mtCount, pairRel, pairCount;
  std::vector<int64_t> tileRow, mtRow, pairRow;
  int pos = 0;
  int64_t row = 0;
  for (int g = 0; g < G; g++) {
    const Group& gr = groups[g];
    gRel[g] = gr.rel;
    gChunk[g] = gr.chunk;
    gPosStart[g] = pos;
    gPosCount[g] = gr.count;
    gRow[g] = row;
    for (int i = 0; i < gr.count; i++) {
      order[pos + i] = tmp[gr.start + i];
      posGroup[pos + i] = g;
    }
    const int segMax = shared ? gr.count : 32;
    for (int s = 0; s < gr.count; s += segMax) {
      segGroup.push_back(g);
      segStart.push_back(pos + s);
      segCount.push_back(std::min(segMax, gr.count - s));
    }
    if (projected) {
      int64_t rowsG = shared ? 2 * (int64_t)gr.count + n : (int64_t)gr.count * (2 + n);
      for (int64_t t = 0; t < rowsG; t += TILE_ROWS) {
        tileRel.push_back(gr.rel);
        tileRow.push_back(row + t);
        tileCount.push_back((int32_t)std::min<int64_t>(TILE_ROWS, rowsG - t));
      }
      row += rowsG;
    }
    pos += gr.count;
  }
  if (projected) {
    // ∂M partial sums: each relation's rows cut into equal pieces of at most mt rows, mt chosen so that there are
    // about eight blocks per SM (several waves of the one or two GEMM blocks an SM holds): a relation's rows in one
    // piece of up to MTILE_ROWS left 200 relations as 200 blocks on 132 SMs, two waves with the second half empty.
    const int64_t perWave = 8 * (int64_t)std::max(1, smCount_);
    const int64_t mt = std::min<int64_t>(MTILE_ROWS, std::max<int64_t>(MTILE_MIN_ROWS, (row + perWave - 1) / perWave));
    // Rows [r0, r1) of relation rel cut into equal pieces of at most mt.
    auto cut = [mt](int32_t rel, int64_t r0, int64_t r1, std::vector<int32_t>& pRel, std::vector<int64_t>& pRow,
                    std::vector<int32_t>& pCount) {
      const int64_t pieces = (r1 - r0 + mt - 1) / mt;
      for (int64_t q = 0; q < pieces; q++) {
        const int64_t a0 = r0 + (r1 - r0) * q / pieces, a1 = r0 + (r1 - r0) * (q + 1) / pieces;
        pRel.push_back(rel);
        pRow.push_back(a0);
        pCount.push_back((int32_t)(a1 - a0));
      }
    };
    for (int g = 0; g < G;) {
      int h = g;
      while (h < G && gRel[h] == gRel[g]) h++;
      cut(gRel[g], gRow[g], h < G ? gRow[h] : row, mtRel, mtRow, mtCount);
      // The Gram form's E rows: 2 per positive in sorted order, so a relation's are contiguous too.
      cut(gRel[g], 2 * (int64_t)gPosStart[g], h < G ? 2 * (int64_t)gPosStart[h] : 2 * (int64_t)B, pairRel, pairRow, pairCount);
      g = h;
    }
  }
  p.rows = row;
  p.S = (int)segGroup.size();
  p.T = (int)tileRel.size();
  p.TM = (int)mtRel.size();
  p.TP = (int)pairRel.size();
  auto put32 = [&](const std::vector<int32_t>& v) {
    size_t o = p.i32.size();
    p.i32.insert(p.i32.end(), v.begin(), v.end());
    return o;
  };
  auto put64 = [&](const std::vector<int64_t>& v) {
    size_t o = p.i64.size();
    p.i64.insert(p.i64.end(), v.begin(), v.end());
    return o;
  };
  p.order = put32(order);
  p.posGroup = put32(posGroup);
  p.gRel = put32(gRel);
  p.gPosStart = put32(gPosStart);
  p.gPosCount = put32(gPosCount);
  p.gChunk = put32(gChunk);
  p.segGroup = put32(segGroup);
  p.segStart = put32(segStart);
  p.segCount = put32(segCount);
  p.tileRel = put32(tileRel);
  p.tileCount = put32(tileCount);
  p.mtRel = put32(mtRel);
  p.mtCount = put32(mtCount);
  p.pairRel = put32(pairRel);
  p.pairCount = put32(pairCount);
  p.gRow = put64(gRow);
  p.tileRow = put64(tileRow);
  p.mtRow = put64(mtRow);
  p.pairRow = put64(pairRow);
}

DevPlan CudaEngine::devPlan(const HostPlan& hp, const int32_t* d32, const int64_t* d64) const {
  DevPlan p;
  p.B = hp.B;
  p.G = hp.G;
  p.S = hp.S;
  p.T = hp.T;
  p.TM = hp.TM;
  p.rows = hp.rows;
  p.order = d32 + hp.order;
  p.posGroup = d32 + hp.posGroup;
  p.gRel = d32 + hp.gRel;
  p.gPosStart = d32 + hp.gPosStart;
  p.gPosCount = d32 + hp.gPosCount;
  p.gChunk = d32 + hp.gChunk;
  p.segGroup = d32 + hp.segGroup;
  p.segStart = d32 + hp.segStart;
  p.segCount = d32 + hp.segCount;
  p.tileRel = d32 + hp.tileRel;
  p.tileCount = d32 + hp.tileCount;
  p.mtRel = d32 + hp.mtRel;
  p.mtCount = d32 + hp.mtCount;
  p.gRow = d64 + hp.gRow;
  p.tileRow = d64 + hp.tileRow;
  p.mtRow = d64 + hp.mtRow;
  p.TP = hp.TP;
  p.pairRel = d32 + hp.pairRel;
  p.pairCount = d32 + hp.pairCount;
  p.pairRow = d64 + hp.pairRow;
  return p;
}

// ---- negatives on the host (staged steps) ------------------------------------------------------------

void CudaEngine::drawHost(const int32_t* heads, const int32_t* rels, const int32_t* tails, int B, uint32_t epoch,
                          double offset, std::vector<int32_t>& negEnt, std::vector<uint8_t>& negHead) const {
  const int n = cfg_.negatives;
  const uint32_t sideKey = adkg::streamKey(cfg_.seed, negativeStream(epoch, PURPOSE_SIDE));
  const uint32_t entKey = adkg::streamKey(cfg_.seed, negativeStream(epoch, PURPOSE_ENTITY));
  const double N = (double)cfg_.N;
  auto isHead = [&](uint32_t c, int r) {
    double u = adkg::toUnitFloat(adkg::hash32(sideKey ^ c));
    return cfg_.corruption == adkg::CORRUPT_BERNOULLI ? u < host_.headProb[r] : u < 0.5;
  };
  auto entity = [&](uint32_t c, int32_t replaced) -> int32_t {
    uint32_t u = adkg::hash32(entKey ^ c);
    if (cfg_.corruption != adkg::CORRUPT_TYPED) return (int32_t)adkg::scaleToInt(u, N);
    int type = host_.entityType[replaced];
    int32_t start = host_.typeOffsets[type], size = host_.typeOffsets[type + 1] - start;
    return host_.typeMembers[start + adkg::scaleToInt(u, (double)size)];
  };
  const uint64_t base = (uint64_t)(int64_t)offset;
  if (cfg_.sampling == adkg::SAMPLING_INDEPENDENT) {
    negEnt.resize((size_t)B * n);
    negHead.resize((size_t)B * n);
    parallelFor(B, std::max(1, 65536 / n), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) {
        uint64_t p = base + (uint64_t)i;
        for (int j = 0; j < n; j++) {
          uint32_t c = (uint32_t)(p * (uint64_t)n + (uint64_t)j);
          bool head = isHead(c, rels[i]);
          negHead[(size_t)i * n + j] = head ? 1 : 0;
          negEnt[(size_t)i * n + j] = entity(c, head ? heads[i] : tails[i]);
        }
      }
    });
    return;
  }
  const int C = cfg_.chunkSize, chunks = (B + C - 1) / C;
  negEnt.resize((size_t)chunks * n);
  negHead.resize((size_t)chunks);
  for (int ci = 0; ci < chunks; ci++) {
    int s = ci * C;
    uint64_t q = base + (uint64_t)s;
    bool head = isHead((uint32_t)(q * (uint64_t)n), rels[s]);
    negHead[ci] = head ? 1 : 0;
    for (int j = 0; j < n; j++) {
      uint32_t c = (uint32_t)(q * (uint64_t)n + (uint64_t)j);
      negEnt[(size_t)ci * n + j] = entity(c, head ? heads[s] : tails[s]);
    }
  }
}

int32_t CudaEngine::slotFor(int32_t e, Staged& st) {
  int32_t& s = slotOf_[e];
  if (s < 0) {
    s = (int32_t)(st.first + (int64_t)st.slotEnt.size());
    st.slotEnt.push_back(e);
  }
  return s;
}

// ---- steps -------------------------------------------------------------------------------------------

void CudaEngine::enqueueStep(const DevPlan& plan, const DevBatch& batch, double step, double* lossAccum,
                             const GradOut* out) {
  DevModel m = m_;
  m.lossAccum = lossAccum;
  profMark(0);
  launchIndex(stream_, m, plan, batch, dc_);
  if (cfg_.model == adkg::MODEL_TRANSRA) launchCompose(stream_, m);
  profMark(1);
  if (gramOn_) {
    // The Gram form's distances difference x·z products, which plain TF32's ~1e-3 in z would swamp: its GEMMs run
    // in 3xTF32 under gemm tf32.
    GemmChoice gc = gemm();
    if (gc.math == GEMM_TF32) gc.math = GEMM_TF32X3;
    DevGram g = gram_;
    g.Z = batch.P;
    g.Q = batch.dP;
    g.E = dE_;
    g.eSlot = dESlot_;
    launchGramPrepare(stream_, m, g);
    launchGramProject(stream_, m, plan, batch, g, gc);
    profMark(2);
    launchGramLoss(stream_, m, plan, batch, dc_, g);
    profMark(3);
    profMark(4);  // no backward-x: ∂x came out of the loss
    launchGramBackward(stream_, m, plan, batch, g, gc);
    profMark(5);
  } else {
    enqueueDirect(plan, batch, m);
  }
  const double bc1 = 1 - std::pow(0.9, step), bc2 = 1 - std::pow(0.999, step);
  launchStep(stream_, m, dc_, bc1, bc2, out);
  profMark(PROF_PHASES);
  CK(cudaGetLastError());
}

// The direct form's phases of a step: project every row, loss on the projections, ∂x and ∂M from ∂P.
void CudaEngine::enqueueDirect(const DevPlan& plan, const DevBatch& batch, const DevModel& m) {
  const bool projected = cfg_.model != adkg::MODEL_TRANSE;
  if (projected) {
    int mode = launchLoss(stream_, m, plan, batch, dc_, sharedLimit_, true);
    if (mode == 0) CK(cudaMemsetAsync(batch.dP, 0, sizeof(float) * plan.rows * cfg_.k, stream_));
    launchProject(stream_, m, plan, batch, gemm());
  }
  profMark(2);
  launchLoss(stream_, m, plan, batch, dc_, sharedLimit_);
  profMark(3);
  if (projected) launchProjectBackX(stream_, m, plan, batch, gemm());
  profMark(4);
  if (projected) launchProjectBackM(stream_, m, plan, batch, gemm());
  profMark(5);
}

// ADKG_CUDA_PROFILE=1: CUDA events around each phase of every step; trainRun prints the sums to stderr.
void CudaEngine::profMark(int i) {
  if (!profile_) return;
  if (!profEvents_[0])
    for (auto& e : profEvents_) CK(cudaEventCreate(&e));
  CK(cudaEventRecord(profEvents_[i], stream_));
  if (i != PROF_PHASES) return;
  CK(cudaEventSynchronize(profEvents_[PROF_PHASES]));
  for (int p = 0; p < PROF_PHASES; p++) {
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, profEvents_[p], profEvents_[p + 1]));
    profMs_[p] += ms;
  }
}

void CudaEngine::profReport(const char* what) {
  if (!profile_) return;
  static const char* direct[PROF_PHASES] = {"index+compose", "project", "loss", "backward-x", "backward-M", "optimizer"};
  // The Gram form: G_r, w_r with z = G_r x; the loss gives ∂x (no backward-x); E and S GEMMs with the per-relation finish.
  static const char* gram[PROF_PHASES] = {"index+compose", "gram+project", "loss", "(none)", "E+S+finish", "optimizer"};
  const char* const* names = gramOn_ ? gram : direct;
  double total = 0;
  for (double v : profMs_) total += v;
  // The Gram form runs its GEMMs in 3xTF32 under gemm tf32 (enqueueStep).
  const int math = gramOn_ && opt_.gemm == GEMM_TF32 ? GEMM_TF32X3 : opt_.gemm;
  std::fprintf(stderr, "adkg cuda profile (%s, gemm %s, %d block%s/SM, %s tile, %s form): %.1f ms in steps:", what,
               gemmMathName(math), opt_.gemmBlocks, opt_.gemmBlocks == 1 ? "" : "s",
               gemmTileName(gemmTileFor(gemm(), cfg_.d, gramOn_ ? cfg_.d : cfg_.k)), gramOn_ ? "gram" : "direct",
               total);
  for (int p = 0; p < PROF_PHASES; p++) std::fprintf(stderr, " %s %.1f (%.0f%%)", names[p], profMs_[p], total > 0 ? 100 * profMs_[p] / total : 0);
  std::fprintf(stderr, "\n");
  for (double& v : profMs_) v = 0;
}

double CudaEngine::stagedStep(const adkg::BatchInput& b, const adkg::GradientOutputs* gout) {
  CK(cudaSetDevice(device_));
  deviceCurrent_ = false;  // rows are staged into slots from 0
  const int B = (int)b.heads.size();
  if (B == 0) return 0;
  const int d = cfg_.d, K = cfg_.K;
  std::vector<int32_t> negEnt;
  std::vector<uint8_t> negHead;
  drawHost(b.heads.data(), b.relations.data(), b.tails.data(), B, b.epoch, b.offset, negEnt, negHead);
  Staged st;
  std::vector<int32_t> hSlot(B), tSlot(B), negSlot(negEnt.size());
  for (int i = 0; i < B; i++) {
    hSlot[i] = slotFor(b.heads[i], st);
    tSlot[i] = slotFor(b.tails[i], st);
  }
  for (size_t i = 0; i < negEnt.size(); i++) negSlot[i] = slotFor(negEnt[i], st);
  const int64_t S = (int64_t)st.slotEnt.size();
  std::vector<int32_t> rels(b.relations);
  std::sort(rels.begin(), rels.end());
  rels.erase(std::unique(rels.begin(), rels.end()), rels.end());
  double loss = 0;
  try {
    if (opt_.mappedStaging) registerHostTables();
    ensureCapacity(S);
    stageIn(st.slotEnt.data(), S, 0, gout == nullptr);
    relationsIn(rels);
    anchorsIn();
    HostPlan hp;
    buildPlan(b.relations.data(), B, hp);
    ensureBatchBuffers(B, hp.rows, cfg_.model != adkg::MODEL_TRANSE);
    auto* d32 = static_cast<int32_t*>(scratch(std::max<size_t>(1, hp.i32.size()) * 4, 0));
    auto* d64 = static_cast<int64_t*>(scratch(std::max<size_t>(1, hp.i64.size()) * 8, 1));
    CK(cudaMemcpyAsync(d32, hp.i32.data(), hp.i32.size() * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(d64, hp.i64.data(), hp.i64.size() * 8, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(dHSlot_, hSlot.data(), (size_t)B * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(dTSlot_, tSlot.data(), (size_t)B * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(dRel_, b.relations.data(), (size_t)B * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(dNegSlot_, negSlot.data(), negSlot.size() * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(dNegHead_, negHead.data(), negHead.size(), cudaMemcpyHostToDevice, stream_));
    CK(cudaMemsetAsync(m_.lossAccum, 0, sizeof(double), stream_));
    DevBatch db{dHSlot_, dRel_, dTSlot_, dNegSlot_, dNegHead_, dHIdx_, dTIdx_, dNIdx_, dNHead_, dRowSlot_, dP_, dDP_};
    DevPlan plan = devPlan(hp, d32, d64);
    GradOut go{};
    if (gout) {
      const size_t R = cfg_.R, k = cfg_.k, A = cfg_.A;
      go.entity = static_cast<float*>(scratch((size_t)S * d * 4, 2));
      go.relation = static_cast<float*>(scratch(R * k * 4, 3));
      CK(cudaMemsetAsync(go.relation, 0, R * k * 4, stream_));
      if (cfg_.model != adkg::MODEL_TRANSE) {
        go.projection = static_cast<float*>(scratch(R * k * d * 4, 4));
        CK(cudaMemsetAsync(go.projection, 0, R * k * d * 4, stream_));
      }
      if (cfg_.model == adkg::MODEL_TRANSRA) {
        // One buffer for the anchor and logit gradients: A×d then S×K.
        float* x = static_cast<float*>(scratch((A * d + (size_t)S * K) * 4 + 4, 5));
        CK(cudaMemsetAsync(x, 0, (A * d + (size_t)S * K) * 4, stream_));
        go.anchor = x;
        go.anchorLogit = x + A * d;
      }
    }
    enqueueStep(plan, db, b.step, m_.lossAccum, gout ? &go : nullptr);
    CK(cudaMemcpyAsync(&loss, m_.lossAccum, sizeof(double), cudaMemcpyDeviceToHost, stream_));
    CK(cudaStreamSynchronize(stream_));
    if (gout) {
      const size_t R = cfg_.R, k = cfg_.k, A = cfg_.A;
      std::vector<float> h((size_t)S * d);
      CK(cudaMemcpy(h.data(), go.entity, h.size() * 4, cudaMemcpyDeviceToHost));
      for (int64_t s = 0; s < S; s++)
        for (int i = 0; i < d; i++) gout->entity[(int64_t)st.slotEnt[s] * d + i] = h[s * d + i];
      h.resize(R * k);
      CK(cudaMemcpy(h.data(), go.relation, R * k * 4, cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < R * k; i++) gout->relation[i] = h[i];
      if (go.projection && gout->projection) {
        h.resize(R * k * d);
        CK(cudaMemcpy(h.data(), go.projection, h.size() * 4, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < h.size(); i++) gout->projection[i] = h[i];
      }
      if (go.anchor) {
        h.resize(A * d + (size_t)S * K);
        CK(cudaMemcpy(h.data(), go.anchor, h.size() * 4, cudaMemcpyDeviceToHost));
        if (gout->anchor)
          for (size_t i = 0; i < A * d; i++) gout->anchor[i] = h[i];
        if (gout->anchorLogit && cfg_.learnAnchorWeights)
          for (int64_t s = 0; s < S; s++)
            for (int i = 0; i < K; i++) gout->anchorLogit[(int64_t)st.slotEnt[s] * K + i] = h[A * d + s * K + i];
      }
    } else {
      stageOut(st.slotEnt.data(), S, 0);
      relationsOut(rels);
      anchorsOut();
    }
  } catch (...) {
    if (opt_.mappedStaging) (void)cudaStreamSynchronize(stream_);  // no device write to the host tables after return
    for (int32_t e : st.slotEnt) slotOf_[e] = -1;
    throw;
  }
  for (int32_t e : st.slotEnt) slotOf_[e] = -1;
  return loss;
}

double CudaEngine::train(const adkg::BatchInput& b) { return stagedStep(b, nullptr); }

double CudaEngine::gradients(const adkg::BatchInput& b, const adkg::GradientOutputs& out) {
  return stagedStep(b, &out);
}

void CudaEngine::sample(const adkg::BatchInput& b, int32_t* entities, uint8_t* corruptHead) {
  CK(cudaSetDevice(device_));
  const int B = (int)b.heads.size(), n = cfg_.negatives, C = cfg_.chunkSize;
  if (B == 0) return;
  ensureSamplingOnDevice();
  ensureBatchBuffers(B, 0, false);
  CK(cudaMemcpyAsync(dHSlot_, b.heads.data(), (size_t)B * 4, cudaMemcpyHostToDevice, stream_));
  CK(cudaMemcpyAsync(dTSlot_, b.tails.data(), (size_t)B * 4, cudaMemcpyHostToDevice, stream_));
  CK(cudaMemcpyAsync(dRel_, b.relations.data(), (size_t)B * 4, cudaMemcpyHostToDevice, stream_));
  DevBatch db{dHSlot_, dRel_, dTSlot_, dNegSlot_, dNegHead_};
  launchDraw(stream_, db, dHSlot_, dTSlot_, B, b.offset, b.epoch, dc_, smp_, n);
  CK(cudaGetLastError());
  const bool shared = cfg_.sampling == adkg::SAMPLING_SHARED;
  const size_t rowsN = shared ? (size_t)((B + C - 1) / C) : (size_t)B;
  std::vector<int32_t> ent(rowsN * n);
  std::vector<uint8_t> head(shared ? rowsN : rowsN * n);
  CK(cudaMemcpyAsync(ent.data(), dNegSlot_, ent.size() * 4, cudaMemcpyDeviceToHost, stream_));
  CK(cudaMemcpyAsync(head.data(), dNegHead_, head.size(), cudaMemcpyDeviceToHost, stream_));
  CK(cudaStreamSynchronize(stream_));
  for (int i = 0; i < B; i++)
    for (int j = 0; j < n; j++) {
      size_t o = (size_t)i * n + j;
      entities[o] = shared ? ent[(size_t)(i / C) * n + j] : ent[o];
      corruptHead[o] = shared ? head[i / C] : head[o];
    }
}

RunResult CudaEngine::trainRun(const RunInput& in, double* losses) {
  CK(cudaSetDevice(device_));
  RunResult res;
  res.gram = gramOn_;
  res.gemmTile = cfg_.model == adkg::MODEL_TRANSE ? "none" : gemmTileName(gemmTileFor(gemm(), cfg_.d, gramOn_ ? cfg_.d : cfg_.k));
  const int group = groupLossVariant(m_, dc_, sharedLimit_);
  res.sharedLoss = group < 0 ? "none" : group == 1 ? "vector" : "element";
  const int64_t L = (int64_t)in.heads.size();
  const int B = in.batchSize, n = cfg_.negatives;
  if (L == 0) return res;
  if (B <= 0) throw std::runtime_error("cuda backend: trainRun needs a positive batch size");
  const int nb = (int)((L + B - 1) / B);
  const bool projected = cfg_.model != adkg::MODEL_TRANSE, shared = cfg_.sampling == adkg::SAMPLING_SHARED;
  double t0 = seconds();
  const char* prof = std::getenv("ADKG_CUDA_PROFILE");  // read per call, so a caller can profile one run
  profile_ = prof && *prof && std::string(prof) != "0";

  // The previous call was a resident run that kept its tables on the device (see deviceCurrent_): no copy in.
  const bool kept = deviceCurrent_;
  deviceCurrent_ = false;  // until this run has copied its tables back

  // Plans of every batch, built once and uploaded once.
  std::vector<HostPlan> plans(nb);
  buildPlans(in.relations.data(), L, B, plans);
  std::vector<size_t> off32(nb), off64(nb);
  size_t tot32 = 0, tot64 = 0;
  int64_t rowsMax = 0;
  for (int i = 0; i < nb; i++) {
    off32[i] = tot32;
    off64[i] = tot64;
    tot32 += plans[i].i32.size();
    tot64 += plans[i].i64.size();
    rowsMax = std::max(rowsMax, plans[i].rows);
  }

  // Placement.
  size_t freeB = 0, totalB = 0;
  CK(cudaMemGetInfo(&freeB, &totalB));
  const double budget = opt_.memoryBudget > 0 ? opt_.memoryBudget : 0.9 * ((double)freeB + (double)capacity_ * bytesPerSlot());
  const double fixed = (double)batchBytes(B, rowsMax) + 4.0 * tot32 + 8.0 * tot64 + 12.0 * L + 8.0 * nb;
  const double perSlot = (double)bytesPerSlot();
  res.residentBytes = (double)cfg_.N * perSlot + fixed;
  const bool resident = opt_.placement == "resident" || (opt_.placement == "auto" && res.residentBytes <= budget);
  // A kept device copy equals the JS tables (it was copied back), so a run placed otherwise just drops it.
  const bool reuse = kept && resident;
  ensureBatchBuffers(B, rowsMax, projected);
  auto* d32 = static_cast<int32_t*>(scratch(std::max<size_t>(1, tot32) * 4, 0));
  auto* d64 = static_cast<int64_t*>(scratch(std::max<size_t>(1, tot64) * 8, 1));
  for (int i = 0; i < nb; i++) {
    CK(cudaMemcpyAsync(d32 + off32[i], plans[i].i32.data(), plans[i].i32.size() * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(d64 + off64[i], plans[i].i64.data(), plans[i].i64.size() * 8, cudaMemcpyHostToDevice, stream_));
  }
  auto* dLoss = static_cast<double*>(scratch((size_t)nb * 8, 3));
  CK(cudaMemsetAsync(dLoss, 0, (size_t)nb * 8, stream_));
  std::vector<int32_t> allRels(cfg_.R);
  std::iota(allRels.begin(), allRels.end(), 0);

  if (resident) {
    res.placement = "resident";
    res.staging = "none";
    res.reusedDeviceTables = reuse;
    if (!reuse) {
      ensureCapacity(cfg_.N);
      registerHostTables();
      stageInRange(0, cfg_.N, 0, true);
      relationsIn(allRels);
      anchorsIn();
    }
    ensureSamplingOnDevice();
    auto* dPos = static_cast<int32_t*>(scratch((size_t)L * 3 * 4, 2));
    CK(cudaMemcpyAsync(dPos, in.heads.data(), L * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(dPos + L, in.relations.data(), L * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(dPos + 2 * L, in.tails.data(), L * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaStreamSynchronize(stream_));
    double t1 = seconds();
    res.syncInSeconds = t1 - t0;
    for (int i = 0; i < nb; i++) {
      int64_t s = (int64_t)i * B;
      int Bi = (int)std::min<int64_t>(B, L - s);
      DevBatch db{dPos + s, dPos + L + s, dPos + 2 * L + s, dNegSlot_, dNegHead_, dHIdx_,
                  dTIdx_,   dNIdx_,       dNHead_,         dRowSlot_, dP_,       dDP_};
      launchDraw(stream_, db, db.hSlot, db.tSlot, Bi, in.offset + (double)s, in.epoch, dc_, smp_, n);
      enqueueStep(devPlan(plans[i], d32 + off32[i], d64 + off64[i]), db, in.firstStep + i, dLoss + i, nullptr);
    }
    CK(cudaStreamSynchronize(stream_));
    double t2 = seconds();
    res.stepSeconds = t2 - t1;
    profReport("resident");
    CK(cudaMemcpy(losses, dLoss, (size_t)nb * 8, cudaMemcpyDeviceToHost));
    stageOutRange(0, cfg_.N, 0);
    relationsOut(allRels);
    anchorsOut();
    res.syncOutSeconds = seconds() - t2;
    const char* keep = std::getenv("ADKG_CUDA_KEEP_RESIDENT");
    deviceCurrent_ = in.keepOnDevice && !(keep && std::string(keep) == "0");
    return res;
  }

  // Hybrid: the hottest entities of the run stay on the device; the rest are staged per batch.
  res.placement = "hybrid";
  const int64_t coldCap = std::min<int64_t>(
      cfg_.N, 2 * (int64_t)B + (shared ? (int64_t)((B + cfg_.chunkSize - 1) / cfg_.chunkSize) * n : (int64_t)B * n));
  int64_t H = opt_.hotRows >= 0 ? opt_.hotRows
                                : (int64_t)std::floor((budget - fixed - (double)coldCap * perSlot) / perSlot);
  if (H < 0) {
    if (opt_.hotRows < 0 && budget - fixed - (double)coldCap * perSlot < 0)
      throw std::runtime_error("cuda backend: one batch of " + std::to_string(B) +
                               " positives does not fit in the device memory budget; use a smaller batch");
    H = 0;
  }
  std::vector<int32_t> hot;
  {
    std::vector<uint32_t> count((size_t)cfg_.N, 0);
    for (int64_t i = 0; i < L; i++) {
      count[in.heads[i]]++;
      count[in.tails[i]]++;
    }
    for (int64_t e = 0; e < cfg_.N; e++)
      if (count[e] > 0) hot.push_back((int32_t)e);
    if ((int64_t)hot.size() > H) {
      std::nth_element(hot.begin(), hot.begin() + H, hot.end(),
                       [&](int32_t a, int32_t b) { return count[a] > count[b] || (count[a] == count[b] && a < b); });
      hot.resize(H);
    }
    std::sort(hot.begin(), hot.end());
  }
  H = (int64_t)hot.size();
  res.hotRows = H;
  ensureCapacity(H + coldCap);
  if (opt_.mappedStaging) registerHostTables();
  res.staging = stagingKind();
  for (int64_t i = 0; i < H; i++) slotOf_[hot[i]] = (int32_t)i;
  try {
    stageIn(hot.data(), H, 0, true);
    relationsIn(allRels);
    anchorsIn();
    double t1 = seconds();
    res.syncInSeconds = t1 - t0;
    std::vector<int32_t> negEnt, hSlot, tSlot, negSlot;
    std::vector<uint8_t> negHead;
    if (opt_.mappedStaging) {
      // The upload buffers at their largest once (a reallocation in the loop would wait for the device).
      const size_t negs = shared ? (size_t)((B + cfg_.chunkSize - 1) / cfg_.chunkSize) * n : (size_t)B * n;
      const size_t heads = shared ? (size_t)((B + cfg_.chunkSize - 1) / cfg_.chunkSize) : (size_t)B * n;
      for (int k = 0; k < 2; k++) pinned(((size_t)coldCap + 3 * (size_t)B + negs) * 4 + heads, 4 + k);
    }
    for (int i = 0; i < nb; i++) {
      int64_t s = (int64_t)i * B;
      int Bi = (int)std::min<int64_t>(B, L - s);
      const int32_t *hh = in.heads.data() + s, *rr = in.relations.data() + s, *tt = in.tails.data() + s;
      drawHost(hh, rr, tt, Bi, in.epoch, in.offset + (double)s, negEnt, negHead);
      Staged st;
      st.first = H;
      hSlot.resize(Bi);
      tSlot.resize(Bi);
      negSlot.resize(negEnt.size());
      for (int j = 0; j < Bi; j++) {
        hSlot[j] = slotFor(hh[j], st);
        tSlot[j] = slotFor(tt[j], st);
      }
      for (size_t j = 0; j < negEnt.size(); j++) negSlot[j] = slotFor(negEnt[j], st);
      const int64_t S = (int64_t)st.slotEnt.size();
      try {
        // What goes up: from the host vectors (pageable: each copy first waits for the stream), or with mapped staging
        // from page-locked buffer i mod 2 (uploaded_).
        const int32_t *ents = st.slotEnt.data(), *hUp = hSlot.data(), *tUp = tSlot.data(), *rUp = rr, *nUp = negSlot.data();
        const uint8_t* headUp = negHead.data();
        const int k = i & 1;
        if (opt_.mappedStaging) {
          if (!uploaded_[k]) CK(cudaEventCreate(&uploaded_[k]));
          if (uploadPending_[k]) CK(cudaEventSynchronize(uploaded_[k]));  // batch i − 2's uploads have read it
          uploadPending_[k] = false;
          const size_t n32 = (size_t)S + 3 * (size_t)Bi + negSlot.size();
          auto* up = static_cast<int32_t*>(pinned(n32 * 4 + negHead.size(), 4 + k));
          auto put = [&](const int32_t* src, size_t n) {
            int32_t* at = up;
            std::memcpy(at, src, n * 4);
            up += n;
            return at;
          };
          ents = put(st.slotEnt.data(), (size_t)S);
          hUp = put(hSlot.data(), (size_t)Bi);
          tUp = put(tSlot.data(), (size_t)Bi);
          rUp = put(rr, (size_t)Bi);
          nUp = put(negSlot.data(), negSlot.size());
          std::memcpy(up, negHead.data(), negHead.size());
          headUp = reinterpret_cast<const uint8_t*>(up);
        }
        stageIn(ents, S, H, true);
        CK(cudaMemcpyAsync(dHSlot_, hUp, (size_t)Bi * 4, cudaMemcpyHostToDevice, stream_));
        CK(cudaMemcpyAsync(dTSlot_, tUp, (size_t)Bi * 4, cudaMemcpyHostToDevice, stream_));
        CK(cudaMemcpyAsync(dRel_, rUp, (size_t)Bi * 4, cudaMemcpyHostToDevice, stream_));
        CK(cudaMemcpyAsync(dNegSlot_, nUp, negSlot.size() * 4, cudaMemcpyHostToDevice, stream_));
        CK(cudaMemcpyAsync(dNegHead_, headUp, negHead.size(), cudaMemcpyHostToDevice, stream_));
        DevBatch db{dHSlot_, dRel_, dTSlot_, dNegSlot_, dNegHead_, dHIdx_, dTIdx_, dNIdx_, dNHead_, dRowSlot_, dP_, dDP_};
        enqueueStep(devPlan(plans[i], d32 + off32[i], d64 + off64[i]), db, in.firstStep + i, dLoss + i, nullptr);
        // Mapped staging: not waited for, so the host draws and maps the next batch while the device runs this one
        // (its gather and uploads are enqueued behind it on the same stream).
        stageOut(ents, S, H, false);
        if (opt_.mappedStaging) {  // behind the last upload from buffer k (stageOut's ids)
          CK(cudaEventRecord(uploaded_[k], stream_));
          uploadPending_[k] = true;
        }
      } catch (...) {
        for (int32_t e : st.slotEnt) slotOf_[e] = -1;
        throw;
      }
      for (int32_t e : st.slotEnt) slotOf_[e] = -1;
    }
    CK(cudaStreamSynchronize(stream_));
    double t2 = seconds();
    res.stepSeconds = t2 - t1;
    profReport("hybrid");
    CK(cudaMemcpy(losses, dLoss, (size_t)nb * 8, cudaMemcpyDeviceToHost));
    stageOut(hot.data(), H, 0);
    relationsOut(allRels);
    anchorsOut();
    res.syncOutSeconds = seconds() - t2;
  } catch (...) {
    if (opt_.mappedStaging) (void)cudaStreamSynchronize(stream_);  // no device write to the host tables after return
    for (int32_t e : hot) slotOf_[e] = -1;
    throw;
  }
  for (int32_t e : hot) slotOf_[e] = -1;
  return res;
}

// ---- evaluation --------------------------------------------------------------------------------------

void CudaEngine::scoreAll(int side, const std::vector<int32_t>& known, const std::vector<int32_t>& relations,
                          float* out) {
  CK(cudaSetDevice(device_));
  const int64_t N = cfg_.N, Q = (int64_t)known.size();
  if (Q == 0) return;
  const int d = cfg_.d, k = cfg_.k;
  const float sign = side == 1 ? 1.f : -1.f;  // tail queries: a = x_h + r; head queries: a = x_t − r
  const bool projected = cfg_.model != adkg::MODEL_TRANSE, transra = cfg_.model == adkg::MODEL_TRANSRA;
  // Entities per block: the Q×EB distance block stays under 256 MiB.
  const int64_t EB = std::max<int64_t>(1024, std::min<int64_t>(N, (int64_t)(64 << 20) / Q));
  const int64_t eb = std::min<int64_t>(N, EB);
  // After a resident trainRun the device already holds every table at slot = entity id, equal to the host's:
  // score against it in place (nothing staged, so it stays current for the next run). TransRA composes
  // contiguous slot ranges only, so its query rows are staged as before.
  const bool inPlace = deviceCurrent_ && !transra;
  if (!inPlace) {
    deviceCurrent_ = false;  // rows are staged into slots from 0
    ensureCapacity(Q + eb);
    registerHostTables();
    std::vector<int32_t> allRels(cfg_.R);
    std::iota(allRels.begin(), allRels.end(), 0);
    relationsIn(allRels);
    anchorsIn();
    stageIn(known.data(), Q, 0, false);
  }
  // Queries grouped by relation (one group when TransE).
  std::vector<int32_t> qs(Q);
  std::iota(qs.begin(), qs.end(), 0);
  if (projected) std::stable_sort(qs.begin(), qs.end(), [&](int32_t a, int32_t b) { return relations[a] < relations[b]; });
  float* Xq = m_.entity.w;
  if (transra) {
    Xq = static_cast<float*>(scratch((size_t)Q * d * 4, 2));
    launchComposeAll(stream_, m_, 0, Q, Xq);
  }
  std::vector<float> A((size_t)Q * k);
  if (projected) {
    std::vector<int32_t> tileRel, tileCount, rowSlot(Q);
    std::vector<int64_t> tileRow;
    for (int64_t i = 0; i < Q; i++) rowSlot[i] = inPlace ? known[qs[i]] : qs[i];
    for (int64_t i = 0; i < Q;) {
      int64_t j = i;
      while (j < Q && j - i < TILE_ROWS && relations[qs[j]] == relations[qs[i]]) j++;
      tileRel.push_back(relations[qs[i]]);
      tileRow.push_back(i);
      tileCount.push_back((int32_t)(j - i));
      i = j;
    }
    const int T = (int)tileRel.size();
    auto* i32 = static_cast<int32_t*>(scratch(((size_t)Q + 2 * T) * 4, 0));
    auto* i64 = static_cast<int64_t*>(scratch((size_t)T * 8, 1));
    CK(cudaMemcpyAsync(i32, rowSlot.data(), Q * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(i32 + Q, tileRel.data(), T * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(i32 + Q + T, tileCount.data(), T * 4, cudaMemcpyHostToDevice, stream_));
    CK(cudaMemcpyAsync(i64, tileRow.data(), T * 8, cudaMemcpyHostToDevice, stream_));
    float* Pq = static_cast<float*>(scratch((size_t)Q * k * 4, 3));
    launchProjectTiles(stream_, Xq, m_.projection.w, i32, i32 + Q, i64, i32 + Q + T, T, d, k, Pq, gemm());
    CK(cudaMemcpyAsync(A.data(), Pq, A.size() * 4, cudaMemcpyDeviceToHost, stream_));
    CK(cudaStreamSynchronize(stream_));
    for (int64_t i = 0; i < Q; i++) {
      const float* r = host_.relation + (int64_t)relations[qs[i]] * k;
      for (int c = 0; c < k; c++) A[i * k + c] += sign * r[c];
    }
  } else {
    for (int64_t q = 0; q < Q; q++) {
      const float* x = host_.entity + (int64_t)known[q] * d;
      const float* r = host_.relation + (int64_t)relations[q] * k;
      for (int c = 0; c < k; c++) A[q * k + c] = x[c] + sign * r[c];
    }
  }
  float* dA = static_cast<float*>(scratch(A.size() * 4, 4));
  CK(cudaMemcpyAsync(dA, A.data(), A.size() * 4, cudaMemcpyHostToDevice, stream_));
  // Pb after the Q × eb distances, at a 256-byte boundary: the projection tiles store 16-byte pieces, and Q · eb is
  // any count (FB15k-237's 14,541 entities times an odd Q put Pb off 16-byte alignment: a misaligned-address fault).
  const size_t pbOffset = ((size_t)Q * eb + 63) & ~(size_t)63;
  float* dOut = static_cast<float*>(scratch(pbOffset * 4 + (size_t)eb * k * 4 * (projected ? 1 : 0) + 4, 5));
  float* Pb = dOut + pbOffset;
  float* Xb = transra ? static_cast<float*>(scratch((size_t)std::max<int64_t>(Q, eb) * d * 4, 2)) : nullptr;
  float* hostOut = static_cast<float*>(pinned((size_t)Q * eb * 4, 2));
  for (int64_t e0 = 0; e0 < N; e0 += eb) {
    const int64_t cnt = std::min<int64_t>(eb, N - e0);
    const float* X = m_.entity.w + (inPlace ? e0 : Q) * (int64_t)d;
    if (!inPlace) stageInRange(e0, cnt, Q, false);
    if (transra) {
      launchComposeAll(stream_, m_, Q, cnt, Xb);
      X = Xb;
    }
    if (!projected) {
      launchDistances(stream_, dA, (int)Q, X, cnt, k, cfg_.norm, dOut, cnt);
    } else {
      for (int64_t i = 0; i < Q;) {
        int64_t j = i;
        while (j < Q && relations[qs[j]] == relations[qs[i]]) j++;
        launchProjectAll(stream_, X, m_.projection.w + (int64_t)relations[qs[i]] * k * d, d, k, cnt, Pb, gemm());
        launchDistances(stream_, dA + i * k, (int)(j - i), Pb, cnt, k, cfg_.norm, dOut + i * cnt, cnt);
        i = j;
      }
    }
    CK(cudaGetLastError());
    CK(cudaMemcpyAsync(hostOut, dOut, (size_t)Q * cnt * 4, cudaMemcpyDeviceToHost, stream_));
    CK(cudaStreamSynchronize(stream_));
    for (int64_t i = 0; i < Q; i++)
      std::memcpy(out + (int64_t)qs[i] * N + e0, hostOut + i * cnt, (size_t)cnt * 4);
  }
}

}  // namespace adkg_cuda
