//===- Run.cpp - Input validation, symbol binding and model invocation ----===//
//
// Every check runs before the model is called, so a bad call never writes an
// output or reads past a buffer: the artifact's code trusts the shapes it is
// given completely.
//
//===----------------------------------------------------------------------===//

#include "Run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

using namespace kiln;

namespace kiln {

const char *formatDims(char *buf, size_t size, const int64_t *dims,
                       int32_t rank) {
  size_t used = 0;
  used += snprintf(buf, size, "[");
  for (int32_t d = 0; d < rank && used < size; ++d)
    used += snprintf(buf + used, size - used, d ? ", %lld" : "%lld",
                     (long long)dims[d]);
  if (used < size)
    snprintf(buf + used, size - used, "]");
  return buf;
}

bool denseBytes(const int64_t *dims, int32_t rank, size_t elementSize,
                size_t *out) {
  size_t bytes = elementSize;
  for (int32_t d = 0; d < rank; ++d) {
    if (dims[d] < 0)
      return false;
    if (__builtin_mul_overflow(bytes, (uint64_t)dims[d], &bytes))
      return false;
  }
  *out = bytes;
  return true;
}

const char *dimName(const kiln_abi_tensor &t, int32_t d) {
  return t.dim_names && t.dim_names[d] ? t.dim_names[d] : "?";
}

// Runs generated code (`call`) in the session's execution context, whose
// arena starts at `arenaUsed` bytes. An allocation the context refuses
// unwinds to here: LIMIT_EXCEEDED or OUT_OF_MEMORY, with the message set.
template <typename Call>
static kiln_status callGenerated(kiln_session *s, uint64_t arenaUsed,
                                 Call call) {
  kiln_rt_context **slot = kiln_rt_context_slot();
  kiln_rt_context *saved = *slot; // a session may run inside another's kernel
  kiln_rt_context &ctx = s->context;
  ctx.arena_limit = s->options.max_arena_bytes;
  ctx.arena_used = arenaUsed;
  ctx.user_arena = static_cast<char *>(s->options.arena);
  ctx.user_arena_bytes = s->options.arena_bytes;
  ctx.user_arena_top = 0;
  ctx.parallel_depth = 0;
  s->kernelFailed.store(false, std::memory_order_relaxed);
  *slot = &ctx;
  // Generated code has no cleanups to run: leaving its frames by longjmp
  // loses nothing but the buffers, which the run's list still holds.
  if (int refused = setjmp(s->unwind)) {
    *slot = saved;
    kiln_rt_end_run_buffers(&ctx, /*release=*/1);
    kiln_status status =
        refused == kiln::kUnwindOutOfMemory     ? KILN_ERROR_OUT_OF_MEMORY
        : refused == kiln::kUnwindRejectedInput ? KILN_ERROR_INVALID_ARGUMENT
                                                : KILN_ERROR_LIMIT_EXCEEDED;
    return setError(s, status, "model '%s': %s",
                    s->model->name ? s->model->name : "?", s->kernelError);
  }
  call();
  *slot = saved;
  kiln_rt_end_run_buffers(&ctx, /*release=*/0);
  if (s->kernelFailed.load(std::memory_order_acquire))
    return setError(s, KILN_ERROR_INTERNAL, "model '%s': kernel failed: %s",
                    s->model->name ? s->model->name : "?", s->kernelError);
  return KILN_OK;
}

// Reads the data symbols from the inputs and checks them.
static kiln_status inferDataSymbols(kiln_session *s,
                                    const int64_t *const *strides) {
  const kiln_abi_model &m = *s->model;
  int32_t code = 0;
  if (kiln_status st = callGenerated(s, 0, [&] {
        code = m.infer_symbols(s->inputData, s->symbols, strides);
      }))
    return st;
  if (code < 0 || code > m.num_symbol_checks)
    return setError(s, KILN_ERROR_INTERNAL,
                    "model '%s': shape inference failed with code %d",
                    m.name ? m.name : "?", code);
  if (code > 0)
    return setError(s, KILN_ERROR_SHAPE_MISMATCH, "%s",
                    m.symbol_checks[code - 1]);
  for (int32_t k = m.num_symbols - m.num_data_symbols; k < m.num_symbols; ++k) {
    int64_t v = s->symbols[k], least = m.symbol_min ? m.symbol_min[k] : 1;
    if (v < least)
      return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                      "%s: read %lld from the inputs' data, expected >= %lld "
                      "(the compiled code assumed it)",
                      m.symbol_names[k], (long long)v, (long long)least);
    if (v > m.symbol_max[k])
      return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                      "%s: read %lld from the inputs' data, expected <= %lld",
                      m.symbol_names[k], (long long)v,
                      (long long)m.symbol_max[k]);
  }
  return KILN_OK;
}

kiln_status prepare(kiln_session *s, const kiln_tensor *inputs,
                    size_t numInputs, const int64_t *const *strides) {
  const kiln_abi_model &m = *s->model;
  s->lastError[0] = '\0';
  if (numInputs != (size_t)m.num_inputs)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "expected %d inputs, got %zu", m.num_inputs, numInputs);
  if (numInputs > 0 && !inputs)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "inputs is NULL but %zu inputs are expected", numInputs);

  for (int32_t k = 0; k < m.num_symbols; ++k) {
    s->symbols[k] = -1;
    s->symbolSource[2 * k] = s->symbolSource[2 * k + 1] = -1;
  }

  char dimsText[512];
  static char emptyTensor; // data for zero-byte tensors passed as NULL
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const kiln_abi_tensor &sig = m.inputs[i];
    const kiln_tensor &t = inputs[i];
    if (t.dtype != sig.dtype)
      return setError(s, KILN_ERROR_DTYPE_MISMATCH,
                      "input '%s': got dtype %s, expected %s", sig.name,
                      kiln_dtype_name(t.dtype), kiln_dtype_name(sig.dtype));
    if (t.rank != sig.rank)
      return setError(s, KILN_ERROR_RANK_MISMATCH,
                      "input '%s': got rank %d, expected %d", sig.name, t.rank,
                      sig.rank);
    if (t.rank > 0 && !t.dims)
      return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                      "input '%s': dims is NULL for rank %d", sig.name, t.rank);
    for (int32_t d = 0; d < sig.rank; ++d) {
      int64_t got = t.dims[d];
      if (sig.dims[d] >= 0) {
        if (got != sig.dims[d])
          return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                          "input '%s' dim %d: got %lld, expected %lld",
                          sig.name, d, (long long)got, (long long)sig.dims[d]);
        continue;
      }
      int32_t k = sig.dim_symbols[d];
      const char *symbol = m.symbol_names[k];
      int64_t least = m.symbol_min ? m.symbol_min[k] : 1;
      if (got < least)
        return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                        "input '%s' dim %d (%s): got %lld, expected >= %lld",
                        sig.name, d, symbol, (long long)got, (long long)least);
      if (got > m.symbol_max[k])
        return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                        "input '%s' dim %d (%s): got %lld, expected <= %lld",
                        sig.name, d, symbol, (long long)got,
                        (long long)m.symbol_max[k]);
      if (s->symbols[k] == -1) {
        s->symbols[k] = got;
        s->symbolSource[2 * k] = i;
        s->symbolSource[2 * k + 1] = d;
      } else if (s->symbols[k] != got) {
        const kiln_abi_tensor &first = m.inputs[s->symbolSource[2 * k]];
        return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                        "input '%s' dim %d (%s): got %lld, expected %lld as "
                        "bound by input '%s' dim %d",
                        sig.name, d, symbol, (long long)got,
                        (long long)s->symbols[k], first.name,
                        s->symbolSource[2 * k + 1]);
      }
    }
    size_t bytes;
    if (!denseBytes(t.dims, t.rank, kiln_dtype_size(sig.dtype), &bytes))
      return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                      "input '%s': byte size of %s %s overflows", sig.name,
                      kiln_dtype_name(sig.dtype),
                      formatDims(dimsText, sizeof(dimsText), t.dims, t.rank));
    if (t.size_bytes < bytes)
      return setError(s, KILN_ERROR_BUFFER_TOO_SMALL,
                      "input '%s': buffer has %zu bytes, needs %zu for %s %s",
                      sig.name, t.size_bytes, bytes, kiln_dtype_name(sig.dtype),
                      formatDims(dimsText, sizeof(dimsText), t.dims, t.rank));
    if (!t.data && bytes > 0)
      return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                      "input '%s': data is NULL", sig.name);
    s->inputData[i] = t.data ? t.data : &emptyTensor;
    s->inputBytes[i] = bytes;
  }

  if (m.infer_symbols)
    if (kiln_status st = inferDataSymbols(s, strides))
      return st;
  if (m.num_outputs == 0)
    return KILN_OK;
  if (m.output_dims(s->symbols, s->outputDims) != 0) {
    size_t used = 0;
    for (int32_t k = 0; k < m.num_symbols && used < sizeof(dimsText); ++k)
      used += snprintf(dimsText + used, sizeof(dimsText) - used,
                       k ? ", %s=%lld" : "%s=%lld", m.symbol_names[k],
                       (long long)s->symbols[k]);
    if (m.num_symbols == 0)
      dimsText[0] = '\0';
    return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                    "output shapes are negative for symbols {%s}", dimsText);
  }
  uint64_t total = 0;
  for (int32_t o = 0; o < m.num_outputs; ++o) {
    const kiln_abi_tensor &sig = m.outputs[o];
    const int64_t *dims = s->outputDims + s->outputDimBase[o];
    for (int32_t d = 0; d < sig.rank; ++d)
      if (dims[d] < 0 || (sig.dims[d] >= 0 && dims[d] != sig.dims[d]))
        return setError(s, KILN_ERROR_INTERNAL,
                        "output '%s' dim %d (%s): computed %lld", sig.name, d,
                        dimName(sig, d), (long long)dims[d]);
    size_t bytes;
    if (!denseBytes(dims, sig.rank, kiln_dtype_size(sig.dtype), &bytes) ||
        __builtin_add_overflow(total, (uint64_t)bytes, &total))
      return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                      "output '%s': byte size of %s %s overflows", sig.name,
                      kiln_dtype_name(sig.dtype),
                      formatDims(dimsText, sizeof(dimsText), dims, sig.rank));
    s->outputBytes[o] = bytes;
  }
  if (total > s->options.max_arena_bytes)
    return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                    "outputs need %llu bytes, over the session's "
                    "max_arena_bytes of %llu",
                    (unsigned long long)total,
                    (unsigned long long)s->options.max_arena_bytes);
  return KILN_OK;
}

kiln_status checkCallerOutputs(kiln_session *s, kiln_tensor *outputs,
                               size_t numOutputs, const kiln_kv_cache *cache) {
  const kiln_abi_model &m = *s->model;
  if (numOutputs != (size_t)m.num_outputs)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "expected %d outputs, got %zu", m.num_outputs, numOutputs);
  if (numOutputs > 0 && !outputs)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "outputs is NULL but %zu outputs are expected", numOutputs);
  char dimsText[512];
  static char emptyTensor;
  for (int32_t o = 0; o < m.num_outputs; ++o) {
    const kiln_abi_tensor &sig = m.outputs[o];
    const kiln_tensor &t = outputs[o];
    const int64_t *dims = s->outputDims + s->outputDimBase[o];
    if (t.dtype != sig.dtype)
      return setError(s, KILN_ERROR_DTYPE_MISMATCH,
                      "output '%s': got dtype %s, expected %s", sig.name,
                      kiln_dtype_name(t.dtype), kiln_dtype_name(sig.dtype));
    if (t.rank != sig.rank)
      return setError(s, KILN_ERROR_RANK_MISMATCH,
                      "output '%s': got rank %d, expected %d", sig.name, t.rank,
                      sig.rank);
    if (t.rank > 0 && !t.dims)
      return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                      "output '%s': dims is NULL for rank %d", sig.name,
                      t.rank);
    for (int32_t d = 0; d < sig.rank; ++d)
      if (t.dims[d] != dims[d])
        return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                        "output '%s' dim %d (%s): got %lld, expected %lld",
                        sig.name, d, dimName(sig, d), (long long)t.dims[d],
                        (long long)dims[d]);
    if (t.size_bytes < s->outputBytes[o])
      return setError(s, KILN_ERROR_BUFFER_TOO_SMALL,
                      "output '%s': buffer has %zu bytes, needs %zu for %s %s",
                      sig.name, t.size_bytes, s->outputBytes[o],
                      kiln_dtype_name(sig.dtype),
                      formatDims(dimsText, sizeof(dimsText), dims, sig.rank));
    if (!t.data && s->outputBytes[o] > 0)
      return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                      "output '%s': data is NULL", sig.name);
    s->outputData[o] = t.data ? t.data : &emptyTensor;
  }
  // Generated code writes outputs while it still reads inputs (a KV cache's
  // present is built in its output buffer), and outputs one after another:
  // overlapping buffers would give wrong results, not an error.
  auto overlap = [](const void *a, size_t aBytes, const void *b,
                    size_t bBytes) {
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return aBytes && bBytes && x < y + bBytes && y < x + aBytes;
  };
  for (int32_t o = 0; o < m.num_outputs; ++o) {
    for (int32_t i = 0; i < m.num_inputs; ++i)
      if (!cachePair(cache, i, o) &&
          overlap(s->outputData[o], s->outputBytes[o], s->inputData[i],
                  s->inputBytes[i]))
        return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                        "output '%s' overlaps input '%s': outputs must not "
                        "share memory with inputs",
                        m.outputs[o].name, m.inputs[i].name);
    for (int32_t p = 0; p < o; ++p)
      if (overlap(s->outputData[o], s->outputBytes[o], s->outputData[p],
                  s->outputBytes[p]))
        return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                        "output '%s' overlaps output '%s'", m.outputs[o].name,
                        m.outputs[p].name);
  }
  return KILN_OK;
}

kiln_status invoke(kiln_session *s, uint32_t flags,
                   const int64_t *const *strides) {
  uint64_t outputBytes = 0;
  for (int32_t o = 0; o < s->model->num_outputs; ++o)
    outputBytes += s->outputBytes[o]; // prepare() checked the sum
  int32_t code = 0;
  char deviceError[512] = "";
  kiln_status st = callGenerated(s, outputBytes, [&] {
    if (s->deviceState)
      code = s->model->device->run(s->deviceState, s->model, s->inputData,
                                   s->outputData, s->symbols, s->outputDims,
                                   flags, deviceError, sizeof(deviceError));
    else if (strides)
      code = s->model->run_strided(s->inputData, s->outputData, s->symbols,
                                   strides);
    else
      code = s->model->run(s->inputData, s->outputData, s->symbols);
  });
  if (code != 0 && deviceError[0])
    return setError(s, KILN_ERROR_DEVICE, "model '%s' on %s: %s",
                    s->model->name ? s->model->name : "?", s->model->target,
                    deviceError);
  if (st != KILN_OK)
    return st;
  if (code != 0)
    return setError(s, KILN_ERROR_INTERNAL, "model '%s' failed with code %d",
                    s->model->name ? s->model->name : "?", code);
  return KILN_OK;
}

} // namespace kiln

extern "C" {

kiln_status kiln_session_run(kiln_session *s, const kiln_tensor *inputs,
                             size_t num_inputs, kiln_tensor *outputs,
                             size_t num_outputs) {
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  RunGuard guard(s);
  if (!guard.ok())
    return KILN_ERROR_INVALID_ARGUMENT;
  if (kiln_status st = prepare(s, inputs, num_inputs))
    return st;
  if (kiln_status st = checkCallerOutputs(s, outputs, num_outputs))
    return st;
  return invoke(s);
}

kiln_status kiln_session_output_dims(kiln_session *s, const kiln_tensor *inputs,
                                     size_t num_inputs, int64_t *dims,
                                     size_t num_dims) {
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  RunGuard guard(s);
  if (!guard.ok())
    return KILN_ERROR_INVALID_ARGUMENT;
  const kiln_abi_model &m = *s->model;
  size_t total = 0;
  for (int32_t o = 0; o < m.num_outputs; ++o)
    total += (size_t)m.outputs[o].rank;
  if (kiln_status st = prepare(s, inputs, num_inputs))
    return st;
  if (total > 0 && (!dims || num_dims < total))
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "dims has room for %zu entries, the outputs have %zu",
                    dims ? num_dims : (size_t)0, total);
  if (total > 0)
    memcpy(dims, s->outputDims, total * sizeof(int64_t));
  return KILN_OK;
}

kiln_status kiln_session_run_device(kiln_session *s, const kiln_tensor *inputs,
                                    size_t num_inputs, kiln_tensor *outputs,
                                    size_t num_outputs) {
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  RunGuard guard(s);
  if (!guard.ok())
    return KILN_ERROR_INVALID_ARGUMENT;
  if (!s->deviceState)
    return setError(s, KILN_ERROR_UNSUPPORTED,
                    "model '%s' runs on the cpu: use kiln_session_run",
                    s->model->name ? s->model->name : "?");
  if (kiln_status st = prepare(s, inputs, num_inputs))
    return st;
  if (kiln_status st = checkCallerOutputs(s, outputs, num_outputs))
    return st;
  return invoke(s, KILN_ABI_RUN_DEVICE_POINTERS);
}

kiln_status kiln_session_run_alloc(kiln_session *s, const kiln_tensor *inputs,
                                   size_t num_inputs, kiln_tensor **outputs,
                                   size_t *num_outputs) {
  if (outputs)
    *outputs = nullptr;
  if (num_outputs)
    *num_outputs = 0;
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  RunGuard guard(s);
  if (!guard.ok())
    return KILN_ERROR_INVALID_ARGUMENT;
  if (!outputs || !num_outputs)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "outputs and num_outputs must not be NULL");
  if (kiln_status st = prepare(s, inputs, num_inputs))
    return st;
  const kiln_abi_model &m = *s->model;
  for (int32_t o = 0; o < m.num_outputs; ++o) {
    if (!reserve(s->allocBuffers[o], s->outputBytes[o]))
      return setError(s, KILN_ERROR_OUT_OF_MEMORY,
                      "output '%s': cannot allocate %zu bytes",
                      m.outputs[o].name, s->outputBytes[o]);
    kiln_tensor &t = s->allocTensors[o];
    t.dtype = static_cast<kiln_dtype>(m.outputs[o].dtype);
    t.rank = m.outputs[o].rank;
    t.dims = s->outputDims + s->outputDimBase[o];
    t.data = s->allocBuffers[o].data;
    t.size_bytes = s->outputBytes[o];
  }
  if (kiln_status st = checkCallerOutputs(s, s->allocTensors, m.num_outputs))
    return st;
  if (kiln_status st = invoke(s))
    return st;
  *outputs = s->allocTensors;
  *num_outputs = (size_t)m.num_outputs;
  return KILN_OK;
}

} // extern "C"
