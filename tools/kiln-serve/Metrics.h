//===- Metrics.h - kiln-serve's counters and histograms ---------*- C++ -*-===//
//
// Rendered by GET /metrics in Prometheus' text exposition format (0.0.4).
// Every member is safe to update from any thread.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_METRICS_H
#define KILN_TOOLS_KILNSERVE_METRICS_H

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::serve {

// Cumulative buckets with fixed upper bounds, as Prometheus expects.
class Histogram {
public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the _bucket/_sum/_count series of `name`.
  void render(std::string &out, const std::string &name,
              const std::string &help) const;

private:
  mutable std::mutex mutex;
  std::vector<double> bounds;
  std::vector<uint64_t> counts; // per bucket, the last one +Inf
  double sum = 0;
  uint64_t count = 0;
};

class Metrics {
public:
  Metrics();

  // One finished HTTP request: `endpoint` as routed ("/v1/completions"),
  // `status` its HTTP status code.
  void requestDone(const std::string &endpoint, int status);
  // Generated tokens, counted when the engine produces them.
  void tokensGenerated(int64_t count);

  std::atomic<int64_t> queueDepth{0};      // jobs waiting for a slot or batch
  std::atomic<int64_t> activeSequences{0}; // decoder slots in use
  Histogram batchSize;         // rows per model call (decode step or encode)
  Histogram timeToFirstToken;  // seconds, submit to first token
  Histogram interTokenLatency; // seconds between a sequence's tokens
  Histogram requestDuration;   // seconds, whole request
  Histogram prefillPrompts;    // prompts per decoder prefill call
  Histogram prefillSeconds;    // seconds per decoder prefill call
  Histogram decodeStepSeconds; // seconds per decoder step (all its rows)

  std::string render() const;

private:
  const std::chrono::steady_clock::time_point start;
  mutable std::mutex mutex;
  std::map<std::pair<std::string, int>, uint64_t> requests;
  uint64_t tokensTotal = 0;
  // (time, tokens) of the last seconds, for the tokens-per-second gauge.
  mutable std::deque<std::pair<std::chrono::steady_clock::time_point, int64_t>>
      recent;
};

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_METRICS_H
