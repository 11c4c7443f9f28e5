//===- Metrics.cpp - kiln-serve's counters and histograms -----------------===//

#include "tools/kiln-serve/Metrics.h"

#include <cstdio>

namespace kiln::serve {

namespace {
constexpr std::chrono::seconds kRateWindow{10};

std::string number(double v) {
  char text[64];
  snprintf(text, sizeof(text), "%.9g", v);
  return text;
}
} // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds(std::move(bounds)), counts(this->bounds.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::lock_guard<std::mutex> lock(mutex);
  size_t b = 0;
  while (b < bounds.size() && value > bounds[b])
    ++b;
  ++counts[b];
  sum += value;
  ++count;
}

void Histogram::render(std::string &out, const std::string &name,
                       const std::string &help) const {
  std::lock_guard<std::mutex> lock(mutex);
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= bounds.size(); ++b) {
    cumulative += counts[b];
    out += name + "_bucket{le=\"" +
           (b < bounds.size() ? number(bounds[b]) : std::string("+Inf")) +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + number(sum) + "\n";
  out += name + "_count " + std::to_string(count) + "\n";
}

static std::vector<double> latencyBounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,  0.5,    1,     2.5,  5,     10,   30};
}

Metrics::Metrics()
    : batchSize({1, 2, 4, 8, 16, 32, 64, 128}),
      timeToFirstToken(latencyBounds()), interTokenLatency(latencyBounds()),
      requestDuration(latencyBounds()),
      prefillPrompts({1, 2, 4, 8, 16, 32, 64, 128}),
      prefillSeconds(latencyBounds()), decodeStepSeconds(latencyBounds()),
      start(std::chrono::steady_clock::now()) {}

void Metrics::requestDone(const std::string &endpoint, int status) {
  std::lock_guard<std::mutex> lock(mutex);
  ++requests[{endpoint, status}];
}

void Metrics::tokensGenerated(int64_t count) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex);
  tokensTotal += count;
  recent.emplace_back(now, count);
  while (!recent.empty() && now - recent.front().first > kRateWindow)
    recent.pop_front();
}

std::string Metrics::render() const {
  std::string out;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex);
    out += "# HELP kiln_requests_total HTTP requests answered, by endpoint "
           "and status code.\n# TYPE kiln_requests_total counter\n";
    for (const auto &[key, n] : requests)
      out += "kiln_requests_total{endpoint=\"" + key.first + "\",code=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
    out += "# HELP kiln_generated_tokens_total Tokens generated.\n"
           "# TYPE kiln_generated_tokens_total counter\n"
           "kiln_generated_tokens_total " +
           std::to_string(tokensTotal) + "\n";
    while (!recent.empty() && now - recent.front().first > kRateWindow)
      recent.pop_front();
    int64_t windowTokens = 0;
    for (const auto &entry : recent)
      windowTokens += entry.second;
    double window =
        std::min<double>(std::chrono::duration<double>(now - start).count(),
                         std::chrono::duration<double>(kRateWindow).count());
    out += "# HELP kiln_tokens_per_second Tokens generated per second over "
           "the last 10 s.\n# TYPE kiln_tokens_per_second gauge\n"
           "kiln_tokens_per_second " +
           number(window > 0 ? windowTokens / window : 0.0) + "\n";
  }
  out += "# HELP kiln_queue_depth Jobs waiting for a batch or a decoder "
         "slot.\n# TYPE kiln_queue_depth gauge\nkiln_queue_depth " +
         std::to_string(queueDepth.load()) + "\n";
  out += "# HELP kiln_active_sequences Decoder slots in use.\n"
         "# TYPE kiln_active_sequences gauge\nkiln_active_sequences " +
         std::to_string(activeSequences.load()) + "\n";
  batchSize.render(out, "kiln_batch_size", "Rows per model call.");
  timeToFirstToken.render(out, "kiln_time_to_first_token_seconds",
                          "Time from admission to a sequence's first token.");
  interTokenLatency.render(out, "kiln_inter_token_latency_seconds",
                           "Time between consecutive tokens of a sequence.");
  requestDuration.render(out, "kiln_request_duration_seconds",
                         "Time to answer a request.");
  prefillPrompts.render(out, "kiln_prefill_prompts",
                        "Prompts per decoder prefill call.");
  prefillSeconds.render(out, "kiln_prefill_seconds",
                        "Time of a decoder prefill call, all its prompts.");
  decodeStepSeconds.render(out, "kiln_decode_step_seconds",
                           "Time of a decode step, all its rows.");
  return out;
}

} // namespace kiln::serve
