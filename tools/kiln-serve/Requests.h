//===- Requests.h - Parse and validate kiln-serve's requests ----*- C++ -*-===//
//
// Turns the JSON body of POST /v1/completions and POST /v1/embeddings into
// the engines' parameters, or into a message that names the field at fault
// and what is wrong with it. Independent of the HTTP library, so that the
// fuzzer (test/fuzz/RequestFuzzer.cpp) can drive it alone. No exception
// leaves these functions, whatever the bytes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_REQUESTS_H
#define KILN_TOOLS_KILNSERVE_REQUESTS_H

#include "tools/kiln-serve/Engine.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::serve {

struct RequestLimits {
  int64_t vocabSize = 0; // token ids must be below it; 0: not checked
  // Decoders: prompt + completion positions of one sequence (a prompt may
  // hold at most maxLength - 1 tokens). Encoders: the longest input.
  int64_t maxLength = 0;
  int64_t maxInputs = 64;   // prompts or inputs in one request
  int64_t maxTokens = 4096; // the largest max_tokens a request may ask
  int64_t maxStopIds = 64;  // entries of `stop`
  // Deadline of a request without `timeout_ms`; 0: none.
  std::chrono::milliseconds defaultTimeout{0};
  // Upper bound of `timeout_ms`; 0: none.
  std::chrono::milliseconds maxTimeout{0};
};

struct CompletionRequest {
  std::vector<CompletionParams> prompts; // one job (and choice) each
  bool stream = false;
};

struct EmbeddingRequest {
  std::vector<EmbeddingParams> inputs; // one job (and data entry) each
};

// The outcome of a parse: `error` is empty on success.
template <typename T> struct Parsed {
  T request;
  std::string error;
  bool ok() const { return error.empty(); }
};

// Deadlines are `now` + timeout_ms (or the limits' default).
Parsed<CompletionRequest> parseCompletionRequest(std::string_view body,
                                                 const RequestLimits &limits,
                                                 Clock::time_point now);
Parsed<EmbeddingRequest> parseEmbeddingRequest(std::string_view body,
                                               const RequestLimits &limits,
                                               Clock::time_point now);

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_REQUESTS_H
