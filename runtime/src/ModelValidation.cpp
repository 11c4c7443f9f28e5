//===- ModelValidation.cpp - Checks a model descriptor before use ---------===//
//
// A descriptor comes from generated code, but it is still read through
// pointers from a file we dlopen'ed: check every invariant the run path relies
// on once, so that the run path can trust it.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

namespace {

struct Reporter {
  char *message;
  size_t size;

  kiln_status fail(kiln_status status, const char *format, ...)
      __attribute__((format(printf, 3, 4))) {
    if (message && size) {
      va_list args;
      va_start(args, format);
      vsnprintf(message, size, format, args);
      va_end(args);
    }
    return status;
  }
};

// Largest rank the runtime accepts; far above any ONNX model's.
constexpr int32_t kMaxRank = 64;

kiln_status checkTensor(Reporter &r, const kiln_abi_model *m,
                        const kiln_abi_tensor *t, const char *kind,
                        int32_t index, bool isInput, bool *symbolBound) {
  if (!t->name)
    return r.fail(KILN_ERROR_INVALID_ARGUMENT, "%s %d has no name", kind,
                  index);
  if (kiln_dtype_size(t->dtype) == 0)
    return r.fail(KILN_ERROR_UNSUPPORTED, "%s '%s' has unsupported dtype %d",
                  kind, t->name, t->dtype);
  if (t->rank < 0 || t->rank > kMaxRank)
    return r.fail(KILN_ERROR_INVALID_ARGUMENT, "%s '%s' has rank %d", kind,
                  t->name, t->rank);
  if (t->rank > 0 && !t->dims)
    return r.fail(KILN_ERROR_INVALID_ARGUMENT, "%s '%s' has no dims", kind,
                  t->name);
  for (int32_t d = 0; d < t->rank; ++d) {
    int64_t extent = t->dims[d];
    int32_t symbol = t->dim_symbols ? t->dim_symbols[d] : -1;
    if (extent < -1)
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "%s '%s' dim %d has extent %lld", kind, t->name, d,
                    (long long)extent);
    if (!isInput)
      continue;
    if (extent == -1 &&
        (symbol < 0 || symbol >= m->num_symbols - m->num_data_symbols))
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "%s '%s' dim %d is symbolic but names symbol %d of %d",
                    kind, t->name, d, symbol, m->num_symbols);
    if (extent >= 0 && symbol != -1)
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "%s '%s' dim %d is static but names symbol %d", kind,
                    t->name, d, symbol);
    if (extent == -1)
      symbolBound[symbol] = true;
  }
  return KILN_OK;
}

} // namespace

extern "C" kiln_status kiln_model_validate(const kiln_abi_model *m,
                                           char *message, size_t message_size) {
  Reporter r{message, message_size};
  if (message && message_size)
    message[0] = '\0';
  if (!m)
    return r.fail(KILN_ERROR_INVALID_ARGUMENT, "model is NULL");
  if (m->abi_version != KILN_MODEL_ABI_VERSION)
    return r.fail(KILN_ERROR_UNSUPPORTED,
                  "model ABI version %u, this runtime supports %u",
                  m->abi_version, KILN_MODEL_ABI_VERSION);
  const char *name = m->name ? m->name : "?";
  if (m->num_symbols < 0 || m->num_inputs < 0 || m->num_outputs < 0)
    return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                  "model '%s' has a negative symbol, input or output count",
                  name);
  if ((m->num_symbols > 0 && (!m->symbol_names || !m->symbol_max)) ||
      (m->num_inputs > 0 && !m->inputs) || (m->num_outputs > 0 && !m->outputs))
    return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                  "model '%s' lacks its symbol, input or output table", name);
  if (!m->run || (m->num_outputs > 0 && !m->output_dims))
    return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                  "model '%s' lacks its run or output_dims function", name);
  bool cpu = m->target && strcmp(m->target, "cpu") == 0;
  if (cpu && m->device)
    return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                  "model '%s' targets cpu but carries a device backend", name);
  if (!cpu && (!m->device || !m->device->create || !m->device->destroy ||
               !m->device->run))
    return r.fail(KILN_ERROR_UNSUPPORTED,
                  "model '%s' targets '%s', for which it carries no device "
                  "backend",
                  name, m->target ? m->target : "(null)");

  // Symbols are few (a handful per model); a fixed bound keeps this
  // allocation-free.
  constexpr int32_t kMaxSymbols = 256;
  if (m->num_symbols > kMaxSymbols)
    return r.fail(KILN_ERROR_UNSUPPORTED, "model '%s' has %d symbols, max %d",
                  name, m->num_symbols, kMaxSymbols);
  bool bound[kMaxSymbols] = {};
  for (int32_t s = 0; s < m->num_symbols; ++s) {
    if (!m->symbol_names[s])
      return r.fail(KILN_ERROR_INVALID_ARGUMENT, "symbol %d has no name", s);
    if (m->symbol_max[s] < 1)
      return r.fail(KILN_ERROR_INVALID_ARGUMENT, "symbol '%s' has maximum %lld",
                    m->symbol_names[s], (long long)m->symbol_max[s]);
    if (m->symbol_min && m->symbol_min[s] != 0 && m->symbol_min[s] != 1)
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "symbol '%s' has minimum %lld (0 or 1 expected)",
                    m->symbol_names[s], (long long)m->symbol_min[s]);
  }
  for (int32_t i = 0; i < m->num_inputs; ++i)
    if (kiln_status st =
            checkTensor(r, m, &m->inputs[i], "input", i, true, bound))
      return st;
  for (int32_t i = 0; i < m->num_outputs; ++i)
    if (kiln_status st =
            checkTensor(r, m, &m->outputs[i], "output", i, false, bound))
      return st;
  if (m->num_data_symbols < 0 || m->num_data_symbols > m->num_symbols ||
      (m->num_data_symbols > 0 && !m->infer_symbols) ||
      m->num_symbol_checks < 0 ||
      (m->num_symbol_checks > 0 && !m->symbol_checks) ||
      (m->infer_symbols && m->device))
    return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                  "model '%s' has a malformed table of symbols read from "
                  "data",
                  name);
  for (int32_t c = 0; c < m->num_symbol_checks; ++c)
    if (!m->symbol_checks[c])
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "model '%s' symbol check %d has no message", name, c);
  for (int32_t s = 0; s < m->num_symbols - m->num_data_symbols; ++s)
    if (!bound[s])
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "symbol '%s' is bound by no input dim", m->symbol_names[s]);
  if (m->num_kv_pairs < 0 || (m->num_kv_pairs > 0 && !m->kv_pairs) ||
      (m->num_kv_pairs > 0 && !m->run_strided))
    return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                  "model '%s' has a malformed KV-cache table", name);
  for (int32_t k = 0; k < m->num_kv_pairs; ++k) {
    const kiln_abi_kv_pair &p = m->kv_pairs[k];
    if (p.input < 0 || p.input >= m->num_inputs || p.output < 0 ||
        p.output >= m->num_outputs)
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "model '%s' KV-cache pair %d names input %d and output %d",
                    name, k, p.input, p.output);
    const kiln_abi_tensor &in = m->inputs[p.input], &out = m->outputs[p.output];
    if (in.rank != out.rank || in.dtype != out.dtype || p.axis < 0 ||
        p.axis >= in.rank)
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "model '%s' KV-cache pair %d ('%s', '%s', axis %d) does "
                    "not match the tensors",
                    name, k, in.name, out.name, p.axis);
  }
  const long page = sysconf(_SC_PAGESIZE);
  if (const kiln_abi_weights *w = m->weights)
    if (!w->map || !w->base || w->bytes == 0 ||
        (uintptr_t)w->base % (page > 0 ? (uintptr_t)page : 4096) != 0)
      return r.fail(KILN_ERROR_INVALID_ARGUMENT,
                    "model '%s' has a malformed weights table", name);
  return KILN_OK;
}
