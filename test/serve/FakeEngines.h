//===- FakeEngines.h - Scripted engines for the HTTP tests ------*- C++ -*-===//
//
// Stand-ins for DecoderEngine and EncoderEngine: each job runs on a thread
// of its own and produces fixed, checkable output, so the HTTP layer's tests
// need no model. A decoder job emits prompt.back() + 1, + 2, ... until
// max_tokens or a stop id (not returned); an encoder job returns {size, first
// id, cls?, normalize?}. Switches make them refuse, fail, or hold jobs until
// released.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_SERVE_FAKEENGINES_H
#define KILN_TEST_SERVE_FAKEENGINES_H

#include "tools/kiln-serve/DecoderEngine.h"
#include "tools/kiln-serve/EncoderEngine.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::serve::testing {

// What both fakes share: job threads, switches and counters.
class FakeJobs {
public:
  std::atomic<Admission> admission{Admission::Accepted};
  std::atomic<bool> hold{false}; // jobs wait for release(), cancel, deadline
  std::atomic<bool> fail{false}; // jobs end in FinishReason::Error
  std::atomic<int> tokenDelayMs{0};
  std::atomic<int> submitted{0}, cancelled{0}, running{0};
  std::atomic<int> drainCalls{0}, stopCalls{0};

  void release() { hold = false; }

  ~FakeJobs() { joinAll(); }

protected:
  Admission admit(std::function<void()> run) {
    if (draining)
      return Admission::ShuttingDown;
    if (admission != Admission::Accepted)
      return admission;
    ++submitted;
    ++running;
    std::lock_guard<std::mutex> lock(mutex);
    threads.emplace_back([this, run] {
      run();
      --running;
    });
    return Admission::Accepted;
  }

  // Waits while held; false (and the reason) when the job must end.
  template <typename Job>
  bool waitWhileHeld(const Job &job, Clock::time_point deadline,
                     FinishReason &reason) {
    while (hold) {
      if (job.cancelled()) {
        ++cancelled;
        reason = FinishReason::Cancelled;
        return false;
      }
      if (stopping) {
        reason = FinishReason::Cancelled;
        return false;
      }
      if (Clock::now() >= deadline) {
        reason = FinishReason::Deadline;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  void joinAll() {
    std::vector<std::thread> joined;
    {
      std::lock_guard<std::mutex> lock(mutex);
      joined.swap(threads);
    }
    for (auto &thread : joined)
      thread.join();
  }

  std::atomic<bool> draining{false}, stopping{false};

private:
  std::mutex mutex;
  std::vector<std::thread> threads;
};

class FakeDecoder : public DecoderEngine, public FakeJobs {
public:
  int64_t vocabSize() const override { return 1000; }
  int64_t maxLength() const override { return 64; }
  const char *batchingMode() const override { return "continuous"; }
  std::string modelName() const override { return "fake-decoder"; }
  std::string cacheDescription() const override { return "no KV cache"; }

  Admission submit(std::shared_ptr<CompletionJob> job) override {
    return admit([this, job] { run(*job); });
  }
  void drain() override {
    ++drainCalls;
    draining = true;
  }
  int64_t inFlight() const override { return running; }
  void stop() override {
    ++stopCalls;
    stopping = true;
    joinAll();
  }
  ~FakeDecoder() override { stop(); }

private:
  void run(CompletionJob &job) {
    FinishReason reason;
    if (!waitWhileHeld(job, job.params.deadline, reason))
      return job.finish(reason);
    if (fail)
      return job.finish(FinishReason::Error, "fake failure");
    for (int64_t i = 0; i < job.params.maxTokens; ++i) {
      if (job.cancelled()) {
        ++cancelled;
        return job.finish(FinishReason::Cancelled);
      }
      if (stopping)
        return job.finish(FinishReason::Cancelled);
      int64_t token = (job.params.prompt.back() + 1 + i) % vocabSize();
      const auto &stop = job.params.stop;
      if (std::find(stop.begin(), stop.end(), token) != stop.end())
        return job.finish(FinishReason::Stop); // not returned
      job.pushToken(token);
      std::this_thread::sleep_for(std::chrono::milliseconds(tokenDelayMs));
    }
    job.finish(FinishReason::Length);
  }
};

class FakeEncoder : public EncoderEngine, public FakeJobs {
public:
  int64_t maxLength() const override { return 16; }
  int64_t vocabSize() const override { return 100; }
  int64_t embeddingSize() const override { return 4; }
  std::string modelName() const override { return "fake-encoder"; }

  Admission submit(std::shared_ptr<EmbeddingJob> job) override {
    return admit([this, job] { run(*job); });
  }
  void drain() override {
    ++drainCalls;
    draining = true;
  }
  int64_t inFlight() const override { return running; }
  void stop() override {
    ++stopCalls;
    stopping = true;
    joinAll();
  }
  ~FakeEncoder() override { stop(); }

private:
  void run(EmbeddingJob &job) {
    FinishReason reason;
    if (!waitWhileHeld(job, job.params.deadline, reason))
      return job.fail(reason, {});
    if (fail)
      return job.fail(FinishReason::Error, "fake failure");
    const auto &params = job.params;
    job.complete({static_cast<float>(params.tokens.size()),
                  static_cast<float>(params.tokens[0]),
                  params.pooling == Pooling::Cls ? 1.0f : 0.0f,
                  params.normalize ? 0.5f : 0.25f});
  }
};

} // namespace kiln::serve::testing

#endif // KILN_TEST_SERVE_FAKEENGINES_H
