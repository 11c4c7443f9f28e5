//===- Engine.cpp - Jobs shared by kiln-serve's HTTP layer and engines ----===//

#include "tools/kiln-serve/Engine.h"

namespace kiln::serve {

const char *finishReasonName(FinishReason reason) {
  switch (reason) {
  case FinishReason::Stop:
    return "stop";
  case FinishReason::Length:
    return "length";
  case FinishReason::Cancelled:
    return "cancelled";
  case FinishReason::Deadline:
    return "deadline";
  case FinishReason::Error:
    return "error";
  }
  return "error";
}

void CompletionJob::pushToken(int64_t token) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    tokens.push_back(token);
  }
  changed.notify_all();
}

void CompletionJob::finish(FinishReason why, std::string message) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (done)
      return;
    done = true;
    reason = why;
    error = std::move(message);
  }
  changed.notify_all();
}

void CompletionJob::cancel() {
  std::lock_guard<std::mutex> lock(mutex);
  cancelRequested = true;
}

bool CompletionJob::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex);
  return cancelRequested;
}

CompletionJob::Snapshot
CompletionJob::waitFor(size_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex);
  changed.wait_for(lock, timeout, [&] { return done || tokens.size() > seen; });
  return {tokens, done, reason, error};
}

void EmbeddingJob::complete(std::vector<float> embedding) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (result.done)
      return;
    result.done = result.ok = true;
    result.embedding = std::move(embedding);
  }
  changed.notify_all();
}

void EmbeddingJob::fail(FinishReason why, std::string message) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (result.done)
      return;
    result.done = true;
    result.reason = why;
    result.error = std::move(message);
  }
  changed.notify_all();
}

void EmbeddingJob::cancel() {
  std::lock_guard<std::mutex> lock(mutex);
  cancelRequested = true;
}

bool EmbeddingJob::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex);
  return cancelRequested;
}

EmbeddingJob::Result
EmbeddingJob::waitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex);
  changed.wait_for(lock, timeout, [&] { return result.done; });
  return result;
}

} // namespace kiln::serve
