// The CUDA runtime's host side for the emulated engine (cuda/build.js --emulation): device memory is host memory
// that the runtime keeps a registry of, and kernels run on emulated blocks (cuda_runtime.h). A stream's work (kernels,
// async copies and memsets, event records) is queued and runs, in order, only when the host has to wait for it: at
// cudaStreamSynchronize, cudaEventSynchronize, cudaFree/cudaFreeHost/cudaHostUnregister (which synchronise the
// device), and at an async copy whose host side is pageable (CUDA syncs the stream before staging it); an async copy
// to or from page-locked memory reads or writes it when its turn comes. So host code that reads a result, or rewrites
// a page-locked buffer, before waiting for the stream sees what a GPU may show it: the old bytes. The legacy stream
// (plain cudaMemcpy, cudaMemset, stream 0) runs at once and, as on a GPU, does not wait for non-blocking streams. What a
// GPU would refuse is refused here too, as the same error codes: a launch with more dynamic shared memory than 48 KB
// without cudaFuncSetAttribute having allowed it, or more than the device's opt-in limit; an empty or oversized grid;
// a copy or memset whose device side is not inside one allocation. Included by cuda_runtime.h; not used on a GPU.
#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

enum cudaErrorCodes : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorNoDevice = 100,
  cudaErrorHostMemoryAlreadyRegistered = 712,
  cudaErrorHostMemoryNotRegistered = 713,
  cudaErrorMisalignedAddress = 716,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8, cudaFuncAttributePreferredSharedMemoryCarveout = 9 };
enum cudaDeviceAttr {
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
  cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
};
enum cudaSharedCarveout { cudaSharedmemCarveoutMaxShared = 100 };
constexpr unsigned cudaStreamNonBlocking = 1, cudaHostAllocDefault = 0, cudaHostRegisterDefault = 0;
using cudaEvent_t = double*;

struct cudaDeviceProp {
  char name[256];
  int major, minor, multiProcessorCount;
  size_t totalGlobalMem, sharedMemPerBlockOptin, sharedMemPerMultiprocessor;
};

namespace emu {

// The emulated device: an sm_90 with an H100's shared-memory limits, few SMs (grids sized by the SM count stay small),
// and ADKG_CUDA_EMU_MEMORY_MB of memory (default 4096), which cudaMemGetInfo reports and cudaMalloc enforces.
constexpr int kSms = 4;
constexpr size_t kOptinSmem = 232448, kSmemPerSm = 233472, kDefaultDynamicSmem = 48 * 1024;
inline size_t totalMemory() {
  const char* v = std::getenv("ADKG_CUDA_EMU_MEMORY_MB");
  return (v ? (size_t)std::strtoull(v, nullptr, 10) : 4096) << 20;
}

struct Runtime {
  std::mutex mu;
  std::map<uintptr_t, size_t> device;               // allocation base → bytes
  std::map<const void*, int> maxDynamicSmem;         // per kernel, as cudaFuncSetAttribute allowed it
  std::map<uintptr_t, size_t> hostRegistered;       // cudaHostRegister'ed host range base → bytes
  std::map<uintptr_t, size_t> hostAllocated;        // cudaHostAlloc'ed buffer → bytes
  size_t allocated = 0;
};
inline Runtime& runtime() {
  static Runtime r;
  return r;
}
inline thread_local int lastError = cudaSuccess;
inline int fail(int e) {
  lastError = e;
  return e;
}
// A kernel's fault (cuda_runtime.h Fault): returned, with its message, by the next cudaGetLastError,
// cudaStreamSynchronize or cudaMemcpy on any thread (the engine launches on libuv's worker threads and may synchronise
// on another), as a GPU reports a fault at the next synchronising call.
struct FaultState {
  std::mutex mu;
  int pending = cudaSuccess;
  std::string what;  // the last fault's message (cudaGetErrorString's, which outlives the take)
};
inline FaultState& faultState() {
  static FaultState f;
  return f;
}
inline void setFault(int e, const std::string& what) {
  FaultState& f = faultState();
  std::lock_guard<std::mutex> lock(f.mu);
  f.pending = e;
  f.what = what;
}
inline int takeFault() {
  FaultState& f = faultState();
  std::lock_guard<std::mutex> lock(f.mu);
  const int e = f.pending;
  f.pending = cudaSuccess;
  return e;
}

// Whether [p, p + bytes) lies inside one device allocation.
inline bool onDevice(const void* p, size_t bytes) {
  Runtime& r = runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = r.device.upper_bound(a);
  if (it == r.device.begin()) return false;
  --it;
  return a >= it->first && a + bytes <= it->first + it->second;
}

// Whether host memory [p, p + bytes) is page-locked (cudaHostAlloc'ed or inside a cudaHostRegister'ed range).
inline bool pageLocked(const void* p, size_t bytes) {
  Runtime& r = runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  for (const auto* m : {&r.hostRegistered, &r.hostAllocated}) {
    auto it = m->upper_bound(a);
    if (it != m->begin() && a + bytes <= std::prev(it)->first + std::prev(it)->second) return true;
  }
  return false;
}

// A non-blocking stream: its queued work, run in order by whichever host thread has to wait for it.
struct Stream {
  std::mutex queueMu, drainMu;
  std::vector<std::function<void()>> work;
};
struct Streams {
  std::mutex mu;
  std::set<Stream*> all;
};
inline Streams& streams() {
  static Streams s;
  return s;
}
// Runs a stream's queued work (and what is queued meanwhile) on this thread.
inline void drain(void* stream) {
  if (!stream) return;
  Stream* s = static_cast<Stream*>(stream);
  std::lock_guard<std::mutex> order(s->drainMu);
  for (;;) {
    std::vector<std::function<void()>> w;
    {
      std::lock_guard<std::mutex> lock(s->queueMu);
      w.swap(s->work);
    }
    if (w.empty()) return;
    for (auto& f : w) f();
  }
}
inline void drainAll() {
  std::vector<Stream*> all;
  {
    std::lock_guard<std::mutex> lock(streams().mu);
    all.assign(streams().all.begin(), streams().all.end());
  }
  for (Stream* s : all) drain(s);
}
// Queues f on the stream (the legacy stream, 0, runs it at once).
inline void enqueue(void* stream, std::function<void()> f) {
  if (!stream) {
    f();
    return;
  }
  Stream* s = static_cast<Stream*>(stream);
  std::lock_guard<std::mutex> lock(s->queueMu);
  s->work.push_back(std::move(f));
}

// What a GPU checks at launch; the error is what cudaGetLastError then returns, and the kernel does not run.
inline int checkLaunch(const void* kernel, dim3 grid, dim3 block, size_t smem) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) return cudaErrorInvalidConfiguration;
  if (block.x == 0 || block.y != 1 || block.z != 1 || block.x > 1024) return cudaErrorInvalidConfiguration;
  if (smem > kDefaultDynamicSmem) {
    Runtime& r = runtime();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.maxDynamicSmem.find(kernel);
    if (it == r.maxDynamicSmem.end() || (size_t)it->second < smem) return cudaErrorInvalidValue;
  }
  return smem > kOptinSmem ? cudaErrorInvalidValue : cudaSuccess;
}

template <class K>
struct Launcher {
  K* kernel;
  dim3 grid, block;
  size_t smem;
  void* stream;
  // Checked when issued (the error is the launch's); run when the stream's turn comes, with the arguments as they
  // were at the launch.
  template <class... Args>
  void operator()(Args... args) const {
    const int e = checkLaunch(reinterpret_cast<const void*>(kernel), grid, block, smem);
    if (e != cudaSuccess) {
      fail(e);
      return;
    }
    enqueue(stream, [k = kernel, g = grid, threads = (int)block.x, words = (smem + 3) / 4, args...] {
      try {
        launch(g, threads, words, [&] { k(args...); });
      } catch (const Fault& f) {
        setFault(f.exitCode == 4 ? cudaErrorMisalignedAddress : cudaErrorLaunchFailure, f.what);
      }
    });
  }
};
template <class K>
Launcher<K> makeLauncher(dim3 grid, dim3 block, size_t smem, void* stream, K* kernel) {
  return {kernel, grid, block, smem, stream};
}

}  // namespace emu

// kernel<<<grid, block, smem, stream>>>(args), as device_common.cuh spells it.
#define ADKG_LAUNCH(grid, block, smem, stream, ...) ::emu::makeLauncher(grid, block, smem, stream, __VA_ARGS__)

inline const char* cudaGetErrorString(int e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument (emulated)";
    case cudaErrorMemoryAllocation: return "out of memory (emulated)";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument (emulated)";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer (emulated: not inside one device allocation)";
    case cudaErrorMisalignedAddress:
    case cudaErrorLaunchFailure: return emu::faultState().what.c_str();
    default: return "unknown error (emulated)";
  }
}
inline int cudaGetLastError() {
  const int f = emu::takeFault();
  if (f != cudaSuccess) return f;
  const int e = emu::lastError;
  emu::lastError = cudaSuccess;
  return e;
}
inline int cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
inline int cudaSetDevice(int d) { return d == 0 ? cudaSuccess : emu::fail(cudaErrorInvalidValue); }
inline int cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
inline int cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof(*p));
  std::snprintf(p->name, sizeof(p->name), "host emulation (no GPU)");
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = emu::kSms;
  p->totalGlobalMem = emu::totalMemory();
  p->sharedMemPerBlockOptin = emu::kOptinSmem;
  p->sharedMemPerMultiprocessor = emu::kSmemPerSm;
  return cudaSuccess;
}
inline int cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  switch (a) {
    case cudaDevAttrMultiProcessorCount: *v = emu::kSms; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = (int)emu::kOptinSmem; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *v = (int)emu::kSmemPerSm; return cudaSuccess;
  }
  return emu::fail(cudaErrorInvalidValue);
}
template <class K>
inline int cudaFuncSetAttribute(K* kernel, cudaFuncAttribute a, int v) {
  if (a == cudaFuncAttributePreferredSharedMemoryCarveout) return v >= -1 && v <= 100 ? cudaSuccess : emu::fail(cudaErrorInvalidValue);
  if (v < 0 || (size_t)v > emu::kOptinSmem) return emu::fail(cudaErrorInvalidValue);
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  r.maxDynamicSmem[reinterpret_cast<const void*>(kernel)] = v;
  return cudaSuccess;
}

inline int cudaMalloc(void** p, size_t bytes) {
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  *p = nullptr;
  if (r.allocated + bytes > emu::totalMemory()) return emu::fail(cudaErrorMemoryAllocation);
  // 256-byte aligned, as cudaMalloc's are.
  void* q = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!q) return emu::fail(cudaErrorMemoryAllocation);
  // Filled with NaN (all ones: -1 as an index), so that a read of memory no kernel or copy wrote shows in the results.
  std::memset(q, 0xff, bytes);
  r.device[reinterpret_cast<uintptr_t>(q)] = bytes;
  r.allocated += bytes;
  *p = q;
  return cudaSuccess;
}
inline int cudaFree(void* p) {
  if (!p) return cudaSuccess;
  emu::drainAll();  // cudaFree waits for the device
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.device.find(reinterpret_cast<uintptr_t>(p));
  if (it == r.device.end()) return emu::fail(cudaErrorInvalidDevicePointer);
  r.allocated -= it->second;
  r.device.erase(it);
  std::free(p);
  return cudaSuccess;
}
inline int cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  *totalBytes = emu::totalMemory();
  *freeBytes = *totalBytes - r.allocated;
  return cudaSuccess;
}
namespace emu {
// A copy's sides where its kind says they are: device ones inside one allocation, host ones outside every allocation.
inline bool copyValid(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const bool dstDev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool srcDev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  return !((dstDev && !onDevice(dst, bytes)) || (srcDev && !onDevice(src, bytes)) || (!dstDev && onDevice(dst, 1)) ||
           (!srcDev && onDevice(src, 1)));
}
}  // namespace emu
inline int cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (const int f = emu::takeFault(); f != cudaSuccess) return f;
  if (bytes == 0) return cudaSuccess;
  if (!emu::copyValid(dst, src, bytes, kind)) return emu::fail(cudaErrorInvalidValue);
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline int cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, void* stream = nullptr) {
  if (bytes == 0) return cudaSuccess;
  if (!emu::copyValid(dst, src, bytes, kind)) return emu::fail(cudaErrorInvalidValue);
  const bool hostSrc = kind == cudaMemcpyHostToDevice, hostDst = kind == cudaMemcpyDeviceToHost;
  if ((hostSrc && !emu::pageLocked(src, bytes)) || (hostDst && !emu::pageLocked(dst, bytes)) ||
      kind == cudaMemcpyHostToHost) {
    // Pageable: the stream's earlier work first, then the copy before the call returns.
    emu::drain(stream);
    std::memmove(dst, src, bytes);
    return cudaSuccess;
  }
  emu::enqueue(stream, [=] { std::memmove(dst, src, bytes); });
  return cudaSuccess;
}
inline int cudaMemset(void* p, int v, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!emu::onDevice(p, bytes)) return emu::fail(cudaErrorInvalidValue);
  std::memset(p, v, bytes);
  return cudaSuccess;
}
inline int cudaMemsetAsync(void* p, int v, size_t bytes, void* stream = nullptr) {
  if (bytes == 0) return cudaSuccess;
  if (!emu::onDevice(p, bytes)) return emu::fail(cudaErrorInvalidValue);
  emu::enqueue(stream, [=] { std::memset(p, v, bytes); });
  return cudaSuccess;
}
inline int cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!*p) return emu::fail(cudaErrorMemoryAllocation);
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  r.hostAllocated[reinterpret_cast<uintptr_t>(*p)] = bytes;
  return cudaSuccess;
}
inline int cudaFreeHost(void* p) {
  emu::drainAll();  // waits for the device, as cudaFree
  {
    emu::Runtime& r = emu::runtime();
    std::lock_guard<std::mutex> lock(r.mu);
    r.hostAllocated.erase(reinterpret_cast<uintptr_t>(p));
  }
  std::free(p);
  return cudaSuccess;
}
// Page-locking as a GPU does it: whole 4 KB pages, refused where a page is already registered (two small tables in one
// page); registered memory is mapped (unified addressing), at the same address as on the host.
inline int cudaHostRegister(void* p, size_t bytes, unsigned) {
  if (!p || bytes == 0) return emu::fail(cudaErrorInvalidValue);
  constexpr uintptr_t kPage = 4096;
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p), first = a / kPage, last = (a + bytes - 1) / kPage;
  for (const auto& [base, len] : r.hostRegistered)
    if (base / kPage <= last && first <= (base + len - 1) / kPage) return emu::fail(cudaErrorHostMemoryAlreadyRegistered);
  r.hostRegistered[a] = bytes;
  return cudaSuccess;
}
inline int cudaHostUnregister(void* p) {
  emu::drainAll();
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.hostRegistered.erase(reinterpret_cast<uintptr_t>(p)) ? cudaSuccess : emu::fail(cudaErrorHostMemoryNotRegistered);
}
inline int cudaHostGetDevicePointer(void** dev, void* host, unsigned) {
  emu::Runtime& r = emu::runtime();
  std::lock_guard<std::mutex> lock(r.mu);
  const uintptr_t a = reinterpret_cast<uintptr_t>(host);
  auto it = r.hostRegistered.upper_bound(a);
  if (it == r.hostRegistered.begin() || a >= std::prev(it)->first + std::prev(it)->second) return emu::fail(cudaErrorInvalidValue);
  *dev = host;
  return cudaSuccess;
}
inline int cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  auto* st = new emu::Stream();
  std::lock_guard<std::mutex> lock(emu::streams().mu);
  emu::streams().all.insert(st);
  *s = st;
  return cudaSuccess;
}
inline int cudaStreamDestroy(cudaStream_t s) {
  if (!s) return cudaSuccess;
  emu::drain(s);  // its work still completes
  {
    std::lock_guard<std::mutex> lock(emu::streams().mu);
    emu::streams().all.erase(static_cast<emu::Stream*>(s));
  }
  delete static_cast<emu::Stream*>(s);
  return cudaSuccess;
}
inline int cudaStreamSynchronize(cudaStream_t s) {
  emu::drain(s);
  return emu::takeFault();
}
inline int cudaEventCreate(cudaEvent_t* e) {
  *e = new double(0);
  return cudaSuccess;
}
inline int cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
inline int cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr) {
  emu::enqueue(s, [e] {
    *e = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
  });
  return cudaSuccess;
}
inline int cudaEventSynchronize(cudaEvent_t) {
  emu::drainAll();  // whichever stream recorded it
  return cudaSuccess;
}
inline int cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  *ms = (float)(*b - *a);
  return cudaSuccess;
}
