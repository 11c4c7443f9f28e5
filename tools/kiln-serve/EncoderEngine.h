//===- EncoderEngine.h - Dynamic batching of embeddings ---------*- C++ -*-===//
//
// Jobs that arrive within max_delay of the first waiting one are run as one
// call, up to max_batch rows, padded to the longest with the attention mask
// (or, for a model without one, grouped by length).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_ENCODERENGINE_H
#define KILN_TOOLS_KILNSERVE_ENCODERENGINE_H

#include "tools/kiln-serve/Engine.h"
#include "tools/kiln-serve/Metrics.h"

#include <memory>
#include <string>

namespace kiln::serve {

struct EncoderOptions {
  std::string model;
  int32_t threads = 0;
  int64_t maxBatch = 16;
  std::chrono::milliseconds maxDelay{2};
  int64_t maxQueue = 256;
  int64_t maxLength = 512; // longest input accepted
  int64_t vocabSize = 0;   // ids must be below it; 0: not checked
};

class EncoderEngine {
public:
  virtual ~EncoderEngine() = default;
  static std::unique_ptr<EncoderEngine> create(const EncoderOptions &options,
                                               Metrics &metrics);

  virtual int64_t maxLength() const = 0;
  virtual int64_t vocabSize() const = 0; // 0: unknown
  virtual int64_t embeddingSize() const = 0;
  virtual std::string modelName() const = 0;

  virtual Admission submit(std::shared_ptr<EmbeddingJob> job) = 0;
  virtual void drain() = 0;
  virtual int64_t inFlight() const = 0;
  virtual void stop() = 0;
};

// Whether the artifact at `path` is a decoder (has a logits output whose last
// dim is the vocabulary) rather than an encoder. Throws on load failure.
bool isDecoderArtifact(const std::string &path);

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_ENCODERENGINE_H
