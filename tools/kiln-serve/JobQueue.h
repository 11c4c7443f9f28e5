//===- JobQueue.h - Jobs accepted by an engine, not yet taken ---*- C++ -*-===//
//
// Shared by the HTTP threads that submit and the engine's own thread that
// takes the jobs and runs them.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_JOBQUEUE_H
#define KILN_TOOLS_KILNSERVE_JOBQUEUE_H

#include "tools/kiln-serve/Engine.h"
#include "tools/kiln-serve/Metrics.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

namespace kiln::serve {

template <typename Job> struct JobQueue {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> pending; // guarded by mutex
  bool stopping = false;                    // guarded by mutex
  std::atomic<bool> draining{false};
  std::atomic<int64_t> live{0}; // accepted and not finished

  Admission submit(std::shared_ptr<Job> job, int64_t maxQueue,
                   Metrics &metrics) {
    std::lock_guard<std::mutex> lock(mutex);
    if (draining || stopping)
      return Admission::ShuttingDown;
    if ((int64_t)pending.size() >= maxQueue)
      return Admission::QueueFull;
    pending.push_back(std::move(job));
    ++live;
    metrics.queueDepth = (int64_t)pending.size();
    wake.notify_one();
    return Admission::Accepted;
  }

  // Sets `stopping` and wakes the engine's thread.
  void requestStop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_one();
  }
};

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_JOBQUEUE_H
