#include "runtime-min/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace moedist {
namespace {
thread_local bool tls_in_pool_worker = false;
}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < std::max(1, num_threads); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// Takes pieces until none are left. Pieces are claimed under the mutex: jobs are few and
// coarse (a matrix's rows), so contention is negligible next to the work.
void ThreadPool::RunPieces() {
  for (;;) {
    int64_t p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (next_piece_ >= num_pieces_) return;
      p = next_piece_++;
    }
    const int64_t begin = p * piece_;
    (*fn_)(begin, std::min(n_, begin + piece_));
  }
}

void ThreadPool::WorkerLoop() {
  tls_in_pool_worker = true;
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    RunPieces();
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_ == 0) done_.notify_all();
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_pieces = (n + grain - 1) / grain;
  if (workers_.empty() || tls_in_pool_worker || max_pieces == 1) {
    fn(0, n);
    return;
  }
  // A few pieces per thread balance uneven pieces without much scheduling.
  const int64_t pieces = std::min<int64_t>(max_pieces, 4 * static_cast<int64_t>(size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    n_ = n;
    piece_ = (n + pieces - 1) / pieces;
    num_pieces_ = (n + piece_ - 1) / piece_;
    next_piece_ = 0;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  RunPieces();
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return pending_ == 0; });
  fn_ = nullptr;
}

ThreadPool& DefaultThreadPool() {
  static ThreadPool pool([] {
    if (const char* env = std::getenv("MOEDIST_THREADS")) {
      int n = std::atoi(env);
      if (n >= 1 && n <= 1024) return n;
    }
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }());
  return pool;
}

}  // namespace moedist
