//===- DecoderEngine.h - Continuous batching of completions -----*- C++ -*-===//
//
// One scheduler thread owns the decoder sessions. Each step it admits waiting
// jobs into free slots (their prefill runs then), then advances every active
// sequence by one token, and frees the slots of finished, cancelled or
// expired sequences at once. docs/serving.md describes the mechanism.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_DECODERENGINE_H
#define KILN_TOOLS_KILNSERVE_DECODERENGINE_H

#include "tools/kiln-serve/Engine.h"
#include "tools/kiln-serve/Metrics.h"

#include <memory>
#include <string>

namespace kiln::serve {

struct DecoderOptions {
  std::string model;       // decoder artifact (.so)
  std::string decodeModel; // optional second artifact: the decode step
  int32_t threads = 0;     // kernel threads; 0: one per core
  int64_t maxBatch = 16;   // slots decoded together
  int64_t maxQueue = 256;  // jobs waiting for a slot
  int64_t kvCapacity = 0;  // positions per sequence; 0: from the model
};

class DecoderEngine {
public:
  virtual ~DecoderEngine() = default;

  // Loads the artifact(s), checks their signature and starts the scheduler.
  // Throws std::runtime_error with a message for the user.
  static std::unique_ptr<DecoderEngine> create(const DecoderOptions &options,
                                               Metrics &metrics);

  virtual int64_t vocabSize() const = 0;
  // Longest prompt + completion one sequence may hold.
  virtual int64_t maxLength() const = 0;
  // "continuous" (slots share one call per step) or "per-sequence".
  virtual const char *batchingMode() const = 0;
  virtual std::string modelName() const = 0;
  // The KV cache the engine holds, for the startup log: "KV cache: 16 rows
  // x 512 positions, bf16, 302.0 MB" (continuous), or the size of each
  // sequence's cache (per-sequence).
  virtual std::string cacheDescription() const = 0;

  virtual Admission submit(std::shared_ptr<CompletionJob> job) = 0;
  // Stops admitting; jobs already accepted keep running.
  virtual void drain() = 0;
  // Jobs accepted and not finished.
  virtual int64_t inFlight() const = 0;
  // Cancels what is left and joins the scheduler.
  virtual void stop() = 0;
};

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_DECODERENGINE_H
