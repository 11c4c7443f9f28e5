//===- Engine.h - What kiln-serve's HTTP layer and its engines share -*- C++
//-*-===//
//
// The HTTP layer parses and validates a request, then hands a job to an
// engine (EncoderEngine or DecoderEngine), which runs it on its own thread
// with the jobs of other clients. A job is shared between the two: the engine
// produces into it, the HTTP thread waits on it and may cancel it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_ENGINE_H
#define KILN_TOOLS_KILNSERVE_ENGINE_H

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kiln::serve {

using Clock = std::chrono::steady_clock;

// Answer of Engine::submit.
enum class Admission {
  Accepted,
  QueueFull,    // 503 with Retry-After
  ShuttingDown, // 503: SIGTERM received, no new work
};

enum class FinishReason {
  Stop,      // a stop token was generated (OpenAI's "stop")
  Length,    // max_tokens, or the KV cache is full (OpenAI's "length")
  Cancelled, // the client went away
  Deadline,  // the request's deadline passed (answered 504)
  Error,     // the model failed (answered 500 with the message)
};

const char *finishReasonName(FinishReason reason);

//===----------------------------------------------------------------------===//
// Completions
//===----------------------------------------------------------------------===//

struct CompletionParams {
  std::vector<int64_t> prompt; // validated: non-empty, ids < vocab
  int64_t maxTokens = 16;      // >= 1, clamped by the engine to the cache
  float temperature = 1.0f;    // 0: greedy (argmax)
  int64_t topK = 0;            // 0: no top-k cut
  float topP = 1.0f;           // 1: no nucleus cut
  std::optional<uint64_t> seed;
  std::vector<int64_t> stop; // token ids that end it (not returned)
  Clock::time_point deadline = Clock::time_point::max();
};

// One sequence of one completion request. Thread-safe.
class CompletionJob {
public:
  explicit CompletionJob(CompletionParams params)
      : params(std::move(params)), created(Clock::now()) {}

  const CompletionParams params;
  const Clock::time_point created;

  // Engine side.
  void pushToken(int64_t token);
  void finish(FinishReason reason, std::string error = {});

  // HTTP side: the engine drops the sequence at its next step.
  void cancel();
  bool cancelled() const;

  struct Snapshot {
    std::vector<int64_t> tokens; // all generated so far
    bool done = false;
    FinishReason reason = FinishReason::Stop;
    std::string error;
  };
  // Blocks until more than `seen` tokens exist, the job is done, or
  // `timeout` passes; returns the state then.
  Snapshot waitFor(size_t seen, std::chrono::milliseconds timeout) const;

private:
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<int64_t> tokens;
  bool done = false, cancelRequested = false;
  FinishReason reason = FinishReason::Stop;
  std::string error;
};

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

enum class Pooling { Mean, Cls };

struct EmbeddingParams {
  std::vector<int64_t> tokens; // one input; validated non-empty
  Pooling pooling = Pooling::Mean;
  bool normalize = false;
  Clock::time_point deadline = Clock::time_point::max();
};

// One input of an embeddings request. Thread-safe.
class EmbeddingJob {
public:
  explicit EmbeddingJob(EmbeddingParams params) : params(std::move(params)) {}
  const EmbeddingParams params;

  void complete(std::vector<float> embedding);
  void fail(FinishReason reason, std::string error);
  void cancel();
  bool cancelled() const;

  struct Result {
    bool done = false;
    bool ok = false;
    FinishReason reason = FinishReason::Stop;
    std::vector<float> embedding;
    std::string error;
  };
  // Blocks until the job is done or `timeout` passes.
  Result waitFor(std::chrono::milliseconds timeout) const;

private:
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  Result result;
  bool cancelRequested = false;
};

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_ENGINE_H
