//===- KvCache.cpp - The in-place KV cache and the runs through it --------===//
//
// Each KV pair lives in one buffer of max_length positions along its axis. A
// step's past input and present output are both views of that buffer (its
// first `length` positions, then the new length), so the model reads the past
// in place and writes only the new positions after it.
//
//===----------------------------------------------------------------------===//

#include "HugePages.h"
#include "Run.h"
#include "kernels/Bf16Bits.h"
#include "kernels/F8Bits.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

using namespace kiln;

namespace {
constexpr int32_t kMaxCacheRank = 8;

struct CachePair {
  const kiln_abi_kv_pair *pair;
  void *data;
  size_t bytes;
  bool mapped; // data lies in the cache's mapping (allocatePairs)
  int64_t dims[kMaxCacheRank];        // the cache: max_length along the axis
  int64_t strides[kMaxCacheRank];     // dense over dims
  int64_t viewDims[2][kMaxCacheRank]; // past, present of the current step
};
} // namespace

struct kiln_kv_cache {
  kiln_session *session;
  int64_t maxLength, length;
  int64_t rows; // a step's batch: the first `rows` of dim 0
  int32_t numPairs;
  CachePair *pairs;
  void *mapping; // of mappingBytes, holding every pair's data; or null
  size_t mappingBytes;
  // A step's full input and output lists and their strides.
  kiln_tensor *inputs, *outputs;
  const int64_t **strides;
};

namespace {

CachePair *pairOfInput(const kiln_kv_cache *c, int32_t i) {
  for (int32_t k = 0; k < c->numPairs; ++k)
    if (c->pairs[k].pair->input == i)
      return &c->pairs[k];
  return nullptr;
}

CachePair *pairOfOutput(kiln_kv_cache *c, int32_t o) {
  for (int32_t k = 0; k < c->numPairs; ++k)
    if (c->pairs[k].pair->output == o)
      return &c->pairs[k];
  return nullptr;
}

// From this size the cache's buffers are one anonymous mapping: its zero
// pages are only touched, and counted in the process's memory, as steps
// write them (a server's cache for --max-batch rows of --kv-capacity
// positions is mostly never used: 1.2 GB for GPT-2 small at 16 x 1024).
// It asks for 2 MiB pages (HugePages.h): a batch-16 decode step's attention
// reads every row's keys and values (GPT-2 small int8 at batch 16, 32-63
// positions: 5.07-5.23 -> 4.91-5.03 ms a step). A sequence then touches its
// rows 2 MiB at a time.
constexpr size_t kMappedBytes = size_t(1) << 20;

size_t roundUpTo(size_t x, size_t to) { return (x + to - 1) / to * to; }

// Zeroed, 64-byte aligned data for every pair of `c` (bytes set); false
// when out of memory.
bool allocatePairs(kiln_kv_cache *c) {
  const long pageSize = sysconf(_SC_PAGESIZE);
  const size_t page = pageSize > 0 ? size_t(pageSize) : 4096;
  size_t total = 0;
  for (int32_t k = 0; k < c->numPairs; ++k)
    total += roundUpTo(c->pairs[k].bytes, page);
  if (total >= kMappedBytes) {
    if (!(c->mapping = kiln::mapHugePages(total)))
      return false;
    c->mappingBytes = total;
    char *next = static_cast<char *>(c->mapping);
    for (int32_t k = 0; k < c->numPairs; ++k) {
      c->pairs[k].data = next;
      c->pairs[k].mapped = true;
      next += roundUpTo(c->pairs[k].bytes, page);
    }
    return true;
  }
  for (int32_t k = 0; k < c->numPairs; ++k) {
    CachePair &p = c->pairs[k];
    p.data = aligned_alloc(64, roundUpTo(p.bytes, 64));
    if (!p.data)
      return false;
    memset(p.data, 0, p.bytes);
  }
  return true;
}

void freeCache(kiln_kv_cache *c) {
  if (c->pairs)
    for (int32_t k = 0; k < c->numPairs; ++k) {
      CachePair &p = c->pairs[k];
      if (!p.mapped)
        free(p.data);
    }
  if (c->mapping)
    munmap(c->mapping, c->mappingBytes);
  free(c->pairs);
  free(c->inputs);
  free(c->outputs);
  free(c->strides);
  free(c);
}

// Checks `past`, one dense tensor per pair in kv-pair order, each with the
// cache's dims except along the pair's axis, where all hold one length (at
// most max_length), and except dim 0 when `rows` >= 0, where they hold
// `rows`. Sets *length on success; the session's error otherwise.
// Whether presents of dtype `given` may fill a cache of dtype `cache`: f32
// ones into a bf16 or f8E4M3FN cache (kilnc --kv-cache-type) whose prefill
// graph was compiled without it, rounded as they are copied.
bool narrowCache(int32_t cache) {
  return cache == KILN_DTYPE_BF16 || cache == KILN_DTYPE_F8E4M3FN;
}
bool widerForm(int32_t given, int32_t cache) {
  return given == KILN_DTYPE_F32 && narrowCache(cache);
}

// `count` f32 values from `src` rounded by `round` into `dst`; either may
// be unaligned.
template <class Elem, Elem (*round)(float)>
void roundFloats(char *dst, const char *src, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    float x;
    memcpy(&x, src + 4 * i, 4);
    Elem e = round(x);
    memcpy(dst + sizeof(Elem) * i, &e, sizeof(Elem));
  }
}

// `positions` positions of `positionBytes` cache bytes each from `src` (of
// dtype `given`) to `dst`: a copy, or f32 rounded to the cache's bf16 or
// f8E4M3FN (nearest even, NaNs kept, f8 saturating) where it is narrower.
void copyPositions(char *dst, const char *src, size_t cacheBytes, int32_t given,
                   int32_t cache) {
  if (!widerForm(given, cache)) {
    memcpy(dst, src, cacheBytes);
    return;
  }
  if (cache == KILN_DTYPE_F8E4M3FN)
    return roundFloats<uint8_t, f32ToF8e4m3>(dst, src, cacheBytes);
  roundFloats<uint16_t, f32ToBf16>(dst, src, cacheBytes / 2);
}

kiln_status checkPast(kiln_kv_cache *c, const kiln_tensor *past,
                      size_t num_past, int64_t rows, int64_t *length) {
  kiln_session *s = c->session;
  const kiln_abi_model &m = *s->model;
  if (num_past != (size_t)c->numPairs || !past)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "expected %d past tensors, got %zu", c->numPairs, num_past);
  char dimsText[512];
  *length = -1;
  for (int32_t k = 0; k < c->numPairs; ++k) {
    const CachePair &p = c->pairs[k];
    const kiln_abi_tensor &sig = m.inputs[p.pair->input];
    const kiln_tensor &t = past[k];
    int32_t axis = p.pair->axis;
    if (t.dtype != sig.dtype && !widerForm(t.dtype, sig.dtype))
      return setError(s, KILN_ERROR_DTYPE_MISMATCH,
                      "past '%s': got dtype %s, expected %s%s", sig.name,
                      kiln_dtype_name(t.dtype), kiln_dtype_name(sig.dtype),
                      narrowCache(sig.dtype) ? " or f32" : "");
    if (t.rank != sig.rank || !t.dims)
      return setError(s, KILN_ERROR_RANK_MISMATCH,
                      "past '%s': got rank %d, expected %d", sig.name, t.rank,
                      sig.rank);
    for (int32_t d = 0; d < t.rank; ++d) {
      int64_t want = d == 0 && rows >= 0 ? rows : p.dims[d];
      if (d != axis && t.dims[d] != want)
        return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                        "past '%s' dim %d: got %lld, expected %lld", sig.name,
                        d, (long long)t.dims[d], (long long)want);
    }
    if (*length == -1)
      *length = t.dims[axis];
    if (t.dims[axis] != *length)
      return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                      "past '%s' holds %lld positions, the first %lld",
                      sig.name, (long long)t.dims[axis], (long long)*length);
    if (*length < 0 || *length > c->maxLength)
      return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                      "past '%s' holds %lld positions, the cache %lld",
                      sig.name, (long long)*length, (long long)c->maxLength);
    size_t bytes;
    if (!denseBytes(t.dims, t.rank, kiln_dtype_size(t.dtype), &bytes) ||
        t.size_bytes < bytes || (bytes && !t.data))
      return setError(s, KILN_ERROR_BUFFER_TOO_SMALL,
                      "past '%s': buffer has %zu bytes, needs %zu for %s",
                      sig.name, t.size_bytes, bytes,
                      formatDims(dimsText, sizeof(dimsText), t.dims, t.rank));
  }
  return KILN_OK;
}

// Where pair `p` keeps its positions: each batch row (dim 0, or the whole
// cache when the pair is cached along dim 0) holds `perRow` blocks of
// max_length positions, one per index of the dims between, each position
// `positionBytes` long (the dims after the axis).
struct PairLayout {
  int64_t perRow;
  size_t positionBytes, blockBytes;
};

PairLayout layoutOf(const kiln_kv_cache *c, const CachePair &p) {
  const kiln_abi_tensor &sig = c->session->model->inputs[p.pair->input];
  int32_t axis = p.pair->axis;
  int64_t perRow = 1, inner = 1;
  for (int32_t d = 1; d < axis; ++d)
    perRow *= p.dims[d];
  for (int32_t d = axis + 1; d < sig.rank; ++d)
    inner *= p.dims[d];
  size_t position = (size_t)inner * kiln_dtype_size(sig.dtype);
  return {perRow, position, (size_t)c->maxLength * position};
}

// The cache's element type for pair `p` (its past input's).
int32_t dtypeOf(const kiln_kv_cache *c, const CachePair &p) {
  return c->session->model->inputs[p.pair->input].dtype;
}

// Batch rows of pair `p`: dim 0, or one when it is the cached axis.
int64_t batchRows(const CachePair &p) {
  return p.pair->axis > 0 ? p.dims[0] : 1;
}

} // namespace

namespace kiln {

bool cachePair(const kiln_kv_cache *cache, int32_t i, int32_t o) {
  const CachePair *p = cache ? pairOfInput(cache, i) : nullptr;
  return p && p->pair->output == o;
}

} // namespace kiln

extern "C" {

int32_t kiln_session_num_kv_pairs(const kiln_session *s) {
  return s ? s->model->num_kv_pairs : 0;
}

kiln_status kiln_kv_cache_create(kiln_session *s, int64_t batch,
                                 int64_t max_length, kiln_kv_cache **out) {
  if (out)
    *out = nullptr;
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  const kiln_abi_model &m = *s->model;
  const char *name = m.name ? m.name : "?";
  if (!out)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT, "out is NULL");
  if (batch < 1 || max_length < 1)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "KV cache of batch %lld and max_length %lld: both must "
                    "be >= 1",
                    (long long)batch, (long long)max_length);
  if (m.num_kv_pairs == 0)
    return setError(s, KILN_ERROR_UNSUPPORTED,
                    "model '%s' has no KV-cache pairs (no output is "
                    "Concat(input, ...) of an input)",
                    name);
  if (s->deviceState)
    return setError(s, KILN_ERROR_UNSUPPORTED,
                    "model '%s': the in-place KV cache runs on the cpu only",
                    name);
  auto *c = static_cast<kiln_kv_cache *>(calloc(1, sizeof(kiln_kv_cache)));
  if (!c)
    return setError(s, KILN_ERROR_OUT_OF_MEMORY, "cannot allocate a cache");
  c->session = s;
  c->maxLength = max_length;
  c->rows = batch;
  c->numPairs = m.num_kv_pairs;
  c->pairs = static_cast<CachePair *>(calloc(c->numPairs, sizeof(CachePair)));
  c->inputs = static_cast<kiln_tensor *>(
      calloc(m.num_inputs ? m.num_inputs : 1, sizeof(kiln_tensor)));
  c->outputs = static_cast<kiln_tensor *>(
      calloc(m.num_outputs ? m.num_outputs : 1, sizeof(kiln_tensor)));
  c->strides = static_cast<const int64_t **>(
      calloc(m.num_inputs + m.num_outputs, sizeof(int64_t *)));
  if (!c->pairs || !c->inputs || !c->outputs || !c->strides) {
    freeCache(c);
    return setError(s, KILN_ERROR_OUT_OF_MEMORY, "cannot allocate a cache");
  }
  for (int32_t k = 0; k < c->numPairs; ++k) {
    CachePair &p = c->pairs[k];
    p.pair = &m.kv_pairs[k];
    const kiln_abi_tensor &t = m.inputs[p.pair->input];
    if (t.rank > kMaxCacheRank) {
      freeCache(c);
      return setError(s, KILN_ERROR_UNSUPPORTED,
                      "input '%s' has rank %d; a KV cache holds rank %d at "
                      "most",
                      t.name, t.rank, kMaxCacheRank);
    }
    for (int32_t d = 0; d < t.rank; ++d) {
      if (d == p.pair->axis)
        p.dims[d] = max_length;
      else if (t.dims[d] >= 0)
        p.dims[d] = t.dims[d];
      else if (d == 0)
        p.dims[d] = batch;
      else {
        freeCache(c);
        return setError(s, KILN_ERROR_UNSUPPORTED,
                        "input '%s' dim %d (%s) is symbolic: a KV cache "
                        "binds only the batch (dim 0) and the cached axis %d",
                        t.name, d, dimName(t, d), p.pair->axis);
      }
    }
    size_t bytes;
    if (!denseBytes(p.dims, t.rank, kiln_dtype_size(t.dtype), &bytes)) {
      freeCache(c);
      return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                      "KV cache for '%s': byte size overflows", t.name);
    }
    int64_t stride = 1;
    for (int32_t d = t.rank - 1; d >= 0; --d) {
      p.strides[d] = stride;
      stride *= p.dims[d];
    }
    p.bytes = bytes;
  }
  if (!allocatePairs(c)) {
    size_t total = 0;
    for (int32_t k = 0; k < c->numPairs; ++k)
      total += c->pairs[k].bytes;
    freeCache(c);
    return setError(s, KILN_ERROR_OUT_OF_MEMORY,
                    "model '%s': cannot allocate a KV cache of %zu bytes "
                    "(%lld rows of %lld positions)",
                    name, total, (long long)batch, (long long)max_length);
  }
  *out = c;
  return KILN_OK;
}

void kiln_kv_cache_destroy(kiln_kv_cache *c) {
  if (c)
    freeCache(c);
}

int64_t kiln_kv_cache_length(const kiln_kv_cache *c) {
  return c ? c->length : -1;
}

kiln_status kiln_kv_cache_set(kiln_kv_cache *c, const kiln_tensor *past,
                              size_t num_past) {
  if (!c)
    return KILN_ERROR_INVALID_ARGUMENT;
  if (num_past == 0) {
    c->length = 0;
    return KILN_OK;
  }
  int64_t length;
  if (kiln_status st = checkPast(c, past, num_past, -1, &length))
    return st;
  for (int32_t k = 0; k < c->numPairs; ++k) {
    const CachePair &p = c->pairs[k];
    PairLayout l = layoutOf(c, p);
    // Each block takes `length` of the cache's max_length positions.
    size_t span = (size_t)length * l.positionBytes;
    size_t given =
        span / kiln_dtype_size(dtypeOf(c, p)) * kiln_dtype_size(past[k].dtype);
    for (int64_t i = 0; i < batchRows(p) * l.perRow; ++i)
      copyPositions(static_cast<char *>(p.data) + i * l.blockBytes,
                    static_cast<const char *>(past[k].data) + i * given, span,
                    past[k].dtype, dtypeOf(c, p));
  }
  c->length = length;
  return KILN_OK;
}

kiln_status kiln_kv_cache_write_row(kiln_kv_cache *c, int64_t row,
                                    int64_t offset, const kiln_tensor *past,
                                    size_t num_past) {
  if (!c)
    return KILN_ERROR_INVALID_ARGUMENT;
  kiln_session *s = c->session;
  const kiln_abi_model &m = *s->model;
  for (int32_t k = 0; k < c->numPairs; ++k) {
    const CachePair &p = c->pairs[k];
    if (p.pair->axis < 1)
      return setError(s, KILN_ERROR_UNSUPPORTED,
                      "past '%s' is cached along dim 0, its batch: rows cannot "
                      "be written one by one",
                      m.inputs[p.pair->input].name);
    if (row < 0 || row >= p.dims[0])
      return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                      "row %lld is outside the cache's batch of %lld",
                      (long long)row, (long long)p.dims[0]);
  }
  int64_t length;
  if (kiln_status st = checkPast(c, past, num_past, 1, &length))
    return st;
  if (offset < 0 || length > c->length - offset)
    return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                    "%lld positions at offset %lld do not fit the cache's "
                    "length of %lld",
                    (long long)length, (long long)offset, (long long)c->length);
  for (int32_t k = 0; k < c->numPairs; ++k) {
    const CachePair &p = c->pairs[k];
    PairLayout l = layoutOf(c, p);
    size_t span = (size_t)length * l.positionBytes;
    size_t given =
        span / kiln_dtype_size(dtypeOf(c, p)) * kiln_dtype_size(past[k].dtype);
    char *base = static_cast<char *>(p.data) +
                 (size_t)(row * l.perRow) * l.blockBytes +
                 (size_t)offset * l.positionBytes;
    for (int64_t i = 0; i < l.perRow; ++i)
      copyPositions(base + i * l.blockBytes,
                    static_cast<const char *>(past[k].data) + i * given, span,
                    past[k].dtype, dtypeOf(c, p));
  }
  return KILN_OK;
}

kiln_status kiln_kv_cache_realign(kiln_kv_cache *c, int64_t new_length) {
  if (!c)
    return KILN_ERROR_INVALID_ARGUMENT;
  kiln_session *s = c->session;
  if (new_length < 0 || new_length > c->maxLength)
    return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                    "a length of %lld is outside the cache's 0..%lld",
                    (long long)new_length, (long long)c->maxLength);
  int64_t shift = new_length - c->length;
  int64_t kept = shift < 0 ? new_length : c->length;
  for (int32_t k = 0; k < c->numPairs && shift != 0; ++k) {
    const CachePair &p = c->pairs[k];
    PairLayout l = layoutOf(c, p);
    size_t position = l.positionBytes;
    // Only the rows in use: a server's free rows are rewritten before use.
    int64_t rows = p.pair->axis > 0 ? c->rows : 1;
    for (int64_t i = 0; i < rows * l.perRow; ++i) {
      char *b = static_cast<char *>(p.data) + i * l.blockBytes;
      if (shift > 0) {
        memmove(b + shift * position, b, kept * position);
        memset(b, 0, shift * position);
      } else {
        // -shift, not shift: a negative int64 times a size_t wraps, and the
        // pointer arithmetic on it is undefined (UBSan's pointer-overflow).
        memmove(b, b + (size_t)(-shift) * position, kept * position);
      }
    }
  }
  c->length = new_length;
  return KILN_OK;
}

kiln_status kiln_kv_cache_use_rows(kiln_kv_cache *c, int64_t rows) {
  if (!c)
    return KILN_ERROR_INVALID_ARGUMENT;
  kiln_session *s = c->session;
  for (int32_t k = 0; k < c->numPairs; ++k)
    if (c->pairs[k].pair->axis < 1 || rows < 1 || rows > c->pairs[k].dims[0])
      return setError(
          s, KILN_ERROR_INVALID_ARGUMENT,
          "%lld rows: a step of this cache runs 1..%lld rows", (long long)rows,
          (long long)(c->pairs[k].pair->axis < 1 ? 0 : c->pairs[k].dims[0]));
  c->rows = rows;
  return KILN_OK;
}

kiln_status kiln_kv_cache_copy_row(kiln_kv_cache *c, int64_t from, int64_t to) {
  if (!c)
    return KILN_ERROR_INVALID_ARGUMENT;
  kiln_session *s = c->session;
  for (int32_t k = 0; k < c->numPairs; ++k) {
    const CachePair &p = c->pairs[k];
    if (p.pair->axis < 1 || from < 0 || to < 0 || from >= p.dims[0] ||
        to >= p.dims[0])
      return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                      "rows %lld and %lld: the cache has rows 0..%lld",
                      (long long)from, (long long)to,
                      (long long)(p.pair->axis < 1 ? -1 : p.dims[0] - 1));
  }
  if (from == to)
    return KILN_OK;
  for (int32_t k = 0; k < c->numPairs; ++k) {
    const CachePair &p = c->pairs[k];
    size_t rowBytes = p.bytes / (size_t)p.dims[0];
    memcpy(static_cast<char *>(p.data) + to * rowBytes,
           static_cast<const char *>(p.data) + from * rowBytes, rowBytes);
  }
  return KILN_OK;
}

kiln_status kiln_session_run_cached(kiln_session *s, kiln_kv_cache *c,
                                    const kiln_tensor *inputs,
                                    size_t num_inputs, kiln_tensor *outputs,
                                    size_t num_outputs) {
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  RunGuard guard(s);
  if (!guard.ok())
    return KILN_ERROR_INVALID_ARGUMENT;
  const kiln_abi_model &m = *s->model;
  if (!c || c->session != s)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "the cache is NULL or belongs to another session");
  size_t wantIn = m.num_inputs - c->numPairs,
         wantOut = m.num_outputs - c->numPairs;
  if (num_inputs != wantIn || num_outputs != wantOut)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "expected %zu inputs and %zu outputs besides the cache, "
                    "got %zu and %zu",
                    wantIn, wantOut, num_inputs, num_outputs);
  if ((wantIn && !inputs) || (wantOut && !outputs))
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "inputs or outputs is NULL");
  if (c->length < 1)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "the KV cache is empty: fill it with kiln_kv_cache_set");
  size_t next = 0;
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const kiln_abi_tensor &sig = m.inputs[i];
    c->strides[i] = nullptr;
    if (CachePair *p = pairOfInput(c, i)) {
      memcpy(p->viewDims[0], p->dims, sizeof(p->dims));
      p->viewDims[0][p->pair->axis] = c->length;
      if (p->pair->axis != 0)
        p->viewDims[0][0] = c->rows;
      c->inputs[i] = {static_cast<kiln_dtype>(sig.dtype), sig.rank,
                      p->viewDims[0], p->data, p->bytes};
      c->strides[i] = p->strides;
    } else {
      c->inputs[i] = inputs[next++];
    }
  }
  if (kiln_status st = prepare(s, c->inputs, m.num_inputs, c->strides))
    return st;
  int64_t length = -1;
  next = 0;
  for (int32_t o = 0; o < m.num_outputs; ++o) {
    const kiln_abi_tensor &sig = m.outputs[o];
    c->strides[m.num_inputs + o] = nullptr;
    CachePair *p = pairOfOutput(c, o);
    if (!p) {
      c->outputs[o] = outputs[next++];
      continue;
    }
    const int64_t *dims = s->outputDims + s->outputDimBase[o];
    int32_t axis = p->pair->axis;
    for (int32_t d = 0; d < sig.rank; ++d)
      if (d != axis && dims[d] != p->viewDims[0][d])
        return setError(s, KILN_ERROR_SHAPE_MISMATCH,
                        "output '%s' dim %d: %lld, the cache has %lld",
                        sig.name, d, (long long)dims[d],
                        (long long)p->viewDims[0][d]);
    if (dims[axis] < c->length || dims[axis] > c->maxLength)
      return setError(s, KILN_ERROR_LIMIT_EXCEEDED,
                      "output '%s' would hold %lld positions; the cache "
                      "holds %lld of at most %lld",
                      sig.name, (long long)dims[axis], (long long)c->length,
                      (long long)c->maxLength);
    if (length == -1)
      length = dims[axis];
    memcpy(p->viewDims[1], dims, sig.rank * sizeof(int64_t));
    c->outputs[o] = {static_cast<kiln_dtype>(sig.dtype), sig.rank,
                     p->viewDims[1], p->data, p->bytes};
    c->strides[m.num_inputs + o] = p->strides;
  }
  if (kiln_status st = checkCallerOutputs(s, c->outputs, m.num_outputs, c))
    return st;
  if (kiln_status st = invoke(s, 0, c->strides))
    return st;
  c->length = length;
  return KILN_OK;
}

} // extern "C"
