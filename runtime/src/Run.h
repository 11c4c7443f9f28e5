//===- Run.h - What the run entry points share ------------------*- C++ -*-===//
//
// kiln_session_run and its variants (Run.cpp) and kiln_session_run_cached
// (KvCache.cpp) check a call the same way before the model runs.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_RUN_H
#define KILN_RUNTIME_RUN_H

#include "Session.h"

namespace kiln {

// Releases the session's busy flag on every return path.
class RunGuard {
public:
  explicit RunGuard(kiln_session *s) : s(s) {
    bool expected = false;
    acquired = s->running.compare_exchange_strong(expected, true);
  }
  ~RunGuard() {
    if (acquired)
      s->running.store(false, std::memory_order_release);
  }
  bool ok() const { return acquired; }

private:
  kiln_session *s;
  bool acquired;
};

// "[2, 3, 4]" into `buf`.
const char *formatDims(char *buf, size_t size, const int64_t *dims,
                       int32_t rank);

// Bytes of a dense tensor, or false if the count overflows size_t.
bool denseBytes(const int64_t *dims, int32_t rank, size_t elementSize,
                size_t *out);

const char *dimName(const kiln_abi_tensor &t, int32_t d);

// Shared by both kinds of run: checks the inputs, binds the symbols (those
// read from the inputs' data too, with `strides` for in-place cache views)
// and computes every output's dims and byte size.
kiln_status prepare(kiln_session *s, const kiln_tensor *inputs,
                    size_t numInputs, const int64_t *const *strides = nullptr);

/// Whether input `i` and output `o` are a KV pair that `cache` holds in one
/// buffer (KvCache.cpp).
bool cachePair(const kiln_kv_cache *cache, int32_t i, int32_t o);

// Checks the caller's output tensors against the prepared dims and sizes;
// `cache` names the outputs that may share a buffer with their input.
kiln_status checkCallerOutputs(kiln_session *s, kiln_tensor *outputs,
                               size_t numOutputs,
                               const kiln_kv_cache *cache = nullptr);

// Runs the model on the prepared inputs and outputs, with `strides` for
// in-place cache views (null: all dense).
kiln_status invoke(kiln_session *s, uint32_t flags = 0,
                   const int64_t *const *strides = nullptr);

} // namespace kiln

#endif // KILN_RUNTIME_RUN_H
