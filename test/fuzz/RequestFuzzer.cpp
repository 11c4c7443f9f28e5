//===- RequestFuzzer.cpp - libFuzzer target: request parser ---------------===//
//
// Feeds arbitrary bytes to the completion and embedding parsers as a request
// body. A parse error is a normal outcome; a crash, a sanitizer report, an
// exception that escapes, a hang, or an accepted request that breaks the
// limits it was parsed against is a bug.
//
// Build and run: scripts/fuzz.sh (build-asan/test/fuzz/kiln-fuzz-request),
// seeded with test/fuzz/request-seeds.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-serve/Requests.h"

#include <cstdint>
#include <cstdlib>

using namespace kiln::serve;

namespace {

RequestLimits limits() {
  RequestLimits limits;
  limits.vocabSize = 50257;
  limits.maxLength = 1024;
  limits.maxInputs = 16;
  limits.maxTokens = 4096;
  limits.maxStopIds = 8;
  limits.defaultTimeout = std::chrono::milliseconds(60000);
  return limits;
}

void check(bool invariant) {
  if (!invariant)
    abort();
}

void checkTokens(const std::vector<int64_t> &tokens, size_t longest) {
  check(!tokens.empty() && tokens.size() <= longest);
  for (int64_t id : tokens)
    check(id >= 0 && id < limits().vocabSize);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view body(reinterpret_cast<const char *>(data), size);
  const RequestLimits bounds = limits();
  const Clock::time_point now = Clock::now();
  const Clock::time_point latest = now + bounds.defaultTimeout;

  auto completion = parseCompletionRequest(body, bounds, now);
  if (completion.ok()) {
    const auto &prompts = completion.request.prompts;
    check(!prompts.empty() &&
          prompts.size() <= static_cast<size_t>(bounds.maxInputs));
    for (const CompletionParams &params : prompts) {
      checkTokens(params.prompt, bounds.maxLength - 1);
      check(params.maxTokens >= 1 && params.maxTokens <= bounds.maxTokens);
      check(params.temperature >= 0 && params.temperature <= 2);
      check(params.topK >= 0 && params.topK < bounds.vocabSize);
      check(params.topP > 0 && params.topP <= 1);
      check(params.stop.size() <= static_cast<size_t>(bounds.maxStopIds));
      for (int64_t id : params.stop)
        check(id >= 0 && id < bounds.vocabSize);
      check(params.deadline > now && params.deadline <= latest);
    }
  } else {
    check(completion.request.prompts.empty());
  }

  auto embedding = parseEmbeddingRequest(body, bounds, now);
  if (embedding.ok()) {
    const auto &inputs = embedding.request.inputs;
    check(!inputs.empty() &&
          inputs.size() <= static_cast<size_t>(bounds.maxInputs));
    for (const EmbeddingParams &params : inputs) {
      checkTokens(params.tokens, bounds.maxLength);
      check(params.deadline > now && params.deadline <= latest);
    }
  } else {
    check(embedding.request.inputs.empty());
  }
  return 0;
}
