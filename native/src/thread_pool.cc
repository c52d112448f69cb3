#include "thread_pool.h"

namespace adkg {

ThreadPool& ThreadPool::instance() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::ensureWorkers(int n) {
  while ((int)workers_.size() < n) {
    int index = (int)workers_.size() + 1;
    workers_.emplace_back([this, index] { workerLoop(index); });
  }
}

void ThreadPool::workerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t, int)>* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && index <= active_); });
      if (stop_) return;
      seen = generation_;
      job = job_;
    }
    for (int64_t t; (t = next_.fetch_add(1)) < tasks_;) (*job)(t, index);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--running_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::run(int64_t tasks, int threads, const std::function<void(int64_t, int)>& fn) {
  if (tasks <= 0) return;
  if (threads < 1) threads = 1;
  if (threads > tasks) threads = (int)tasks;
  if (threads == 1) {
    for (int64_t t = 0; t < tasks; t++) fn(t, 0);
    return;
  }
  std::lock_guard<std::mutex> region(runMutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ensureWorkers(threads - 1);
    job_ = &fn;
    tasks_ = tasks;
    next_.store(0);
    active_ = threads - 1;
    running_ = threads - 1;
    generation_++;
  }
  wake_.notify_all();
  for (int64_t t; (t = next_.fetch_add(1)) < tasks;) fn(t, 0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return running_ == 0; });
}

}  // namespace adkg
