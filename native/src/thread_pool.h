// A small persistent pool of std::threads. run(n, fn) calls fn(task, worker) for task in [0, n), using
// up to `threads` workers (the calling thread is worker 0), and returns when every task is done.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>
#include <atomic>

namespace adkg {

class ThreadPool {
 public:
  static ThreadPool& instance();
  ~ThreadPool();
  void run(int64_t tasks, int threads, const std::function<void(int64_t task, int worker)>& fn);

 private:
  ThreadPool() = default;
  void ensureWorkers(int n);
  void workerLoop(int index);

  std::mutex runMutex_;  // one parallel region at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  std::atomic<int64_t> next_{0};
  int64_t tasks_ = 0;
  int active_ = 0;       // workers allowed to join the current job (excluding the caller)
  int running_ = 0;      // workers still inside the current job
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace adkg
