// Host check of the emulated runtime's streams and page-locked memory (cuda/test/emu/runtime_api.h), which the
// emulated engine's battery leans on to show a missing wait: a stream's work stays queued until the host waits for it,
// as a GPU may leave it. Each case prints one JSON line {"case", "ok", "detail"}; exits 1 when one is off. Built and run
// by test/cuda-emulation.test.ts.
#include <cuda_runtime.h>  // the emulation (cuda/test/emu)

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

__global__ void setKernel(float* p, float v) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *p = v;
}

int failed = 0;
void report(const std::string& name, bool ok, const std::string& detail) {
  if (!ok) failed++;
  std::printf("{\"case\":\"%s\",\"ok\":%s,\"detail\":\"%s\"}\n", name.c_str(), ok ? "true" : "false", detail.c_str());
}
std::string num(double v) { return std::to_string(v); }

}  // namespace

int main() {
  cudaStream_t s = nullptr;
  cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  float* dev = nullptr;
  cudaMalloc(reinterpret_cast<void**>(&dev), 4 * sizeof(float));
  cudaMemset(dev, 0, 4 * sizeof(float));
  float* pinned = nullptr;
  cudaHostAlloc(reinterpret_cast<void**>(&pinned), 4 * sizeof(float), cudaHostAllocDefault);

  {  // A kernel on a stream runs when the host waits for the stream, not when it is launched.
    ADKG_LAUNCH(1, 32, 0, s, setKernel)(dev, 1.f);
    float before = -1, after = -1;
    cudaMemcpy(&before, dev, sizeof(float), cudaMemcpyDeviceToHost);  // the legacy stream: does not wait for s
    cudaStreamSynchronize(s);
    cudaMemcpy(&after, dev, sizeof(float), cudaMemcpyDeviceToHost);
    report("kernel runs at the stream's wait; cudaMemcpy does not wait for a non-blocking stream", before == 0.f && after == 1.f,
           "before " + num(before) + ", after " + num(after));
  }
  {  // An async copy into page-locked memory lands at the wait.
    pinned[0] = -1;
    ADKG_LAUNCH(1, 32, 0, s, setKernel)(dev, 2.f);
    cudaMemcpyAsync(pinned, dev, sizeof(float), cudaMemcpyDeviceToHost, s);
    const float before = pinned[0];
    cudaStreamSynchronize(s);
    report("device to page-locked host lands at the wait", before == -1.f && pinned[0] == 2.f,
           "before " + num(before) + ", after " + num(pinned[0]));
  }
  {  // From page-locked memory the copy reads its source when its turn comes: a rewrite before the wait arrives.
    pinned[1] = 3.f;
    cudaMemcpyAsync(dev + 1, pinned + 1, sizeof(float), cudaMemcpyHostToDevice, s);
    pinned[1] = 4.f;
    cudaStreamSynchronize(s);
    float got = -1;
    cudaMemcpy(&got, dev + 1, sizeof(float), cudaMemcpyDeviceToHost);
    report("page-locked host to device reads its source in turn", got == 4.f, "arrived " + num(got));
  }
  {  // From pageable memory: the stream's earlier work first, and the source read before the call returns.
    std::vector<float> pageable = {5.f};
    ADKG_LAUNCH(1, 32, 0, s, setKernel)(dev + 2, 6.f);
    cudaMemcpyAsync(dev + 3, pageable.data(), sizeof(float), cudaMemcpyHostToDevice, s);
    pageable[0] = 7.f;
    float earlier = -1, got = -1;
    cudaMemcpy(&earlier, dev + 2, sizeof(float), cudaMemcpyDeviceToHost);
    cudaMemcpy(&got, dev + 3, sizeof(float), cudaMemcpyDeviceToHost);
    report("pageable host to device waits for the stream and reads at the call", earlier == 6.f && got == 5.f,
           "earlier kernel's value " + num(earlier) + ", arrived " + num(got));
  }
  {  // An event's wait runs the stream's work recorded before it.
    cudaEvent_t e = nullptr;
    cudaEventCreate(&e);
    ADKG_LAUNCH(1, 32, 0, s, setKernel)(dev, 8.f);
    cudaEventRecord(e, s);
    cudaEventSynchronize(e);
    float got = -1;
    cudaMemcpy(&got, dev, sizeof(float), cudaMemcpyDeviceToHost);
    cudaEventDestroy(e);
    report("cudaEventSynchronize runs the work before the event", got == 8.f, "read " + num(got));
  }
  {  // Page-locking: whole pages, a page registered twice refused, registered memory mapped (interior pointers too).
    void* block = std::aligned_alloc(4096, 3 * 4096);
    char* base = static_cast<char*>(block);
    const int first = cudaHostRegister(base, 4096 + 100, cudaHostRegisterDefault);  // pages 0 and 1
    const int sharing = cudaHostRegister(base + 4096 + 200, 100, cudaHostRegisterDefault);  // page 1 again
    (void)cudaGetLastError();
    const int next = cudaHostRegister(base + 2 * 4096, 100, cudaHostRegisterDefault);  // page 2
    void* interior = nullptr;
    void* outside = nullptr;
    const int in = cudaHostGetDevicePointer(&interior, base + 50, 0);
    const int out = cudaHostGetDevicePointer(&outside, base + 4096 + 150, 0);  // past the first range's end
    (void)cudaGetLastError();
    cudaHostUnregister(base);
    void* gone = nullptr;
    const int after = cudaHostGetDevicePointer(&gone, base + 50, 0);
    (void)cudaGetLastError();
    cudaHostUnregister(base + 2 * 4096);
    std::free(block);
    report("page-locking refuses a shared page and maps registered memory",
           first == cudaSuccess && sharing == cudaErrorHostMemoryAlreadyRegistered && next == cudaSuccess && in == cudaSuccess &&
               interior == base + 50 && out != cudaSuccess && after != cudaSuccess,
           "first " + std::to_string(first) + ", shared page " + std::to_string(sharing) + ", next page " + std::to_string(next) +
               ", interior " + std::to_string(in) + ", past the end " + std::to_string(out) + ", after unregister " +
               std::to_string(after));
  }
  cudaFreeHost(pinned);
  cudaFree(dev);
  cudaStreamDestroy(s);
  return failed ? 1 : 0;
}
