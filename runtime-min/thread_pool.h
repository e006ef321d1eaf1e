// ThreadPool: a fixed set of worker threads that split one loop at a time.
//
// runtime-min parallelises inside kernels (rows of a matrix, heads of attention), never across
// layers, so one blocking ParallelFor at a time is all it needs. The calling thread takes part,
// so a pool of size N uses N-1 workers. A ParallelFor issued from inside a worker runs serially
// on that worker (no nested fan-out, no deadlock). The default pool's size comes from
// MOEDIST_THREADS, else std::thread::hardware_concurrency().
// Thread safety: ParallelFor may be called from one thread at a time per pool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace moedist {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over contiguous pieces covering [0, n), each at least `grain` long
  // (except the last), and returns when all have run.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop();
  void RunPieces();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  // The current job (valid while pending_ > 0).
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, piece_ = 0, num_pieces_ = 0;
  int64_t next_piece_ = 0;  // guarded by mu_
  int pending_ = 0;         // workers still inside the current job
};

ThreadPool& DefaultThreadPool();

}  // namespace moedist
