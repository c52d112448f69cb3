// A stand-in for <cuda_runtime.h> that lets plain C++ compile and run CUDA kernel code on the host, for
// cuda/test/gram_emulation_check.cc (-I cuda/test/emu puts it before the real one). Each CUDA thread of a block is a
// std::thread; __syncthreads, __syncwarp and the warp shuffles are barriers among them, shared memory is one buffer per
// block, atomics take a lock. Only what cuda/src/gram.cu and cuda/src/device_common.cuh use is here. Slow, and meant
// to be: it checks indexing, warp uniformity (a shuffle or barrier a lane skips deadlocks, which the launcher reports)
// and arithmetic, not speed.
#pragma once

#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#define ADKG_HOST_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) alignas(n)

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
using cudaStream_t = void*;
using cudaError_t = int;

namespace emu {

constexpr int kWarp = 32;

struct Block {
  int threads;
  std::unique_ptr<std::barrier<>> all;
  std::vector<std::unique_ptr<std::barrier<>>> warps;
  std::vector<double> slots;  // one per thread: what a lane offers in a shuffle
  std::vector<float> shared;  // the block's dynamic shared memory
};

inline thread_local Block* current = nullptr;
inline thread_local dim3 tIdx, bIdx, bDim;
inline std::mutex atomicLock;

// Runs kernel() as grid.x blocks of `threads` threads, one block after another (static __shared__ arrays are then
// the block's own), with dynamicFloats of dynamic shared memory. A block that has not finished after 60 s has
// deadlocked (a barrier or shuffle some thread never reached): the process says so and exits 3.
inline void launch(unsigned blocks, int threads, size_t dynamicFloats, const std::function<void()>& kernel) {
  for (unsigned b = 0; b < blocks; b++) {
    Block blk;
    blk.threads = threads;
    blk.all = std::make_unique<std::barrier<>>(threads);
    for (int w = 0; w < (threads + kWarp - 1) / kWarp; w++) blk.warps.push_back(std::make_unique<std::barrier<>>(kWarp));
    blk.slots.assign(threads, 0.0);
    blk.shared.assign(dynamicFloats + 4, std::nanf(""));  // NaN: a read before a write shows up in the results
    std::atomic<int> done{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
      pool.emplace_back([&, t] {
        current = &blk;
        tIdx = {(unsigned)t, 0, 0};
        bIdx = {b, 0, 0};
        bDim = {(unsigned)threads, 1, 1};
        kernel();
        done++;
      });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (done.load() < threads) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "emulated block %u deadlocked: %d of %d threads finished\n", b, done.load(), threads);
        std::_Exit(3);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (auto& th : pool) th.join();
  }
}

}  // namespace emu

#define threadIdx (emu::tIdx)
#define blockIdx (emu::bIdx)
#define blockDim (emu::bDim)

inline void __syncthreads() { emu::current->all->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::current->warps[threadIdx.x / emu::kWarp]->arrive_and_wait(); }

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int laneMask) {
  emu::Block& b = *emu::current;
  const int t = (int)threadIdx.x, base = t - t % emu::kWarp;
  b.slots[t] = (double)v;
  __syncwarp();
  const T other = (T)b.slots[base + ((t % emu::kWarp) ^ laneMask)];
  __syncwarp();
  return other;
}

inline float atomicAdd(float* p, float v) {
  std::lock_guard<std::mutex> g(emu::atomicLock);
  const float old = *p;
  *p = old + v;
  return old;
}
inline double atomicAdd(double* p, double v) {
  std::lock_guard<std::mutex> g(emu::atomicLock);
  const double old = *p;
  *p = old + v;
  return old;
}
