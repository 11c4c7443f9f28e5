//===- Session.cpp - Session lifetime and signature queries ---------------===//

#include "Session.h"

#include <new>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace kiln {

kiln_status setError(kiln_session *session, kiln_status status,
                     const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(session->lastError, sizeof(session->lastError), format, args);
  va_end(args);
  return status;
}

void *alignedAlloc(size_t bytes) {
  if (bytes == 0)
    return nullptr;
  void *p = nullptr;
  return posix_memalign(&p, 64, bytes) == 0 ? p : nullptr;
}

bool reserve(ScratchBuffer &buffer, size_t bytes) {
  if (buffer.size >= bytes)
    return true;
  void *p = alignedAlloc(bytes);
  if (!p)
    return false;
  free(buffer.data);
  buffer.data = p;
  buffer.size = bytes;
  return true;
}

} // namespace kiln

using namespace kiln;

namespace {

int32_t availableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0)
      return count;
  }
  long count = sysconf(_SC_NPROCESSORS_ONLN);
  return count > 0 ? (int32_t)count : 1;
}

//===----------------------------------------------------------------------===//
// Execution context callbacks (see ExecutionContext.h)
//===----------------------------------------------------------------------===//

void contextParallelFor(kiln_rt_context *ctx, int64_t begin, int64_t end,
                        int64_t grain, kiln_rt_task_fn fn, void *arg) {
  ++ctx->parallel_depth;
  static_cast<kiln_session *>(ctx->impl)->pool->parallelFor(begin, end, grain,
                                                            fn, arg);
  --ctx->parallel_depth;
}

void contextRefuseAllocation(kiln_rt_context *ctx, size_t bytes,
                             int mallocFailed) {
  auto *s = static_cast<kiln_session *>(ctx->impl);
  if (ctx->user_arena)
    snprintf(s->kernelError, sizeof(s->kernelError),
             "an intermediate buffer of %zu bytes does not fit the session's "
             "arena: %llu of its %llu bytes are in use",
             bytes, (unsigned long long)ctx->user_arena_top,
             (unsigned long long)ctx->user_arena_bytes);
  else if (mallocFailed)
    snprintf(s->kernelError, sizeof(s->kernelError),
             "cannot allocate an intermediate buffer of %zu bytes", bytes);
  else
    snprintf(s->kernelError, sizeof(s->kernelError),
             "an intermediate buffer of %zu bytes would raise the run's "
             "memory to %llu bytes, over the session's max_arena_bytes of "
             "%llu",
             bytes, (unsigned long long)(ctx->arena_used + bytes),
             (unsigned long long)ctx->arena_limit);
  if (ctx->parallel_depth == 0)
    longjmp(s->unwind, mallocFailed ? kUnwindOutOfMemory : kUnwindArenaLimit);
}

void *contextScratch(kiln_rt_context *ctx, int32_t worker, size_t bytes) {
  auto *s = static_cast<kiln_session *>(ctx->impl);
  if (worker < 0 || worker >= ctx->num_threads)
    return nullptr;
  ScratchBuffer &buffer = s->scratch[worker];
  return reserve(buffer, bytes) ? buffer.data : nullptr;
}

void contextReportError(kiln_rt_context *ctx, const char *message) {
  auto *s = static_cast<kiln_session *>(ctx->impl);
  // First report wins; later ones may race from other workers.
  if (!s->kernelFailed.exchange(true))
    snprintf(s->kernelError, sizeof(s->kernelError), "%s", message);
}

void contextRejectInput(kiln_rt_context *ctx, const char *message) {
  auto *s = static_cast<kiln_session *>(ctx->impl);
  if (ctx->parallel_depth != 0) {
    contextReportError(ctx, message);
    return;
  }
  snprintf(s->kernelError, sizeof(s->kernelError), "%s", message);
  longjmp(s->unwind, kUnwindRejectedInput);
}

template <typename T> bool allocArray(T *&out, int64_t count) {
  out = static_cast<T *>(calloc(count > 0 ? count : 1, sizeof(T)));
  return out != nullptr;
}

} // namespace

extern "C" {

void kiln_session_options_init_sized(kiln_session_options *opts, size_t size) {
  if (!opts || size < sizeof(size_t))
    return;
  size = size < sizeof(*opts) ? size : sizeof(*opts);
  memset(opts, 0, size);
  opts->struct_size = size;
}

void(kiln_session_options_init)(kiln_session_options *opts) {
  kiln_session_options_init_sized(opts, offsetof(kiln_session_options, arena));
}

kiln_status kiln_session_create(const kiln_abi_model *model,
                                const kiln_session_options *opts,
                                kiln_session **out) {
  if (!out)
    return KILN_ERROR_INVALID_ARGUMENT;
  *out = nullptr;
  if (kiln_status st = kiln_model_validate(model, nullptr, 0))
    return st;

  kiln_session_options options;
  kiln_session_options_init(&options);
  if (opts) {
    if (opts->struct_size < sizeof(size_t))
      return KILN_ERROR_INVALID_ARGUMENT;
    size_t n = opts->struct_size < sizeof(options) ? opts->struct_size
                                                   : sizeof(options);
    memcpy(&options, opts, n);
    options.struct_size = sizeof(options);
  }
  auto fail = [&](kiln_status st, const char *message) {
    if (options.error_message && options.error_message_size)
      snprintf(options.error_message, options.error_message_size, "%s",
               message);
    return st;
  };
  if (options.num_threads < 0 || options.device < 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "num_threads and device must not be negative");
  if (!options.arena != !options.arena_bytes ||
      reinterpret_cast<uintptr_t>(options.arena) % 64 != 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "arena and arena_bytes go together, and the arena must be "
                "64-byte aligned");
  if (options.arena && model->device)
    return fail(KILN_ERROR_UNSUPPORTED,
                "an arena in host memory serves cpu models only");
  if (!model->device && options.device != 0)
    return fail(KILN_ERROR_UNSUPPORTED, "a cpu model runs on device 0 only");
  if (model->weights) {
    char message[1024];
    if (model->weights->map(model->weights, message, sizeof(message)) != 0)
      return fail(KILN_ERROR_IO, message);
  }
  // A device model's host side only launches work: one thread is enough.
  if (options.num_threads == 0)
    options.num_threads = model->device ? 1 : availableCores();
  if (options.max_arena_bytes == 0)
    options.max_arena_bytes = KILN_DEFAULT_MAX_ARENA_BYTES;

  void *memory = calloc(1, sizeof(kiln_session));
  if (!memory)
    return KILN_ERROR_OUT_OF_MEMORY;
  kiln_session *s = new (memory) kiln_session();
  s->model = model;
  s->options = options;
  s->options.error_message = nullptr; // borrowed for this call only
  s->options.error_message_size = 0;

  int64_t totalOutputRank = 0;
  for (int32_t i = 0; i < model->num_outputs; ++i)
    totalOutputRank += model->outputs[i].rank;
  bool ok = allocArray(s->symbols, model->num_symbols) &&
            allocArray(s->symbolSource, 2 * (int64_t)model->num_symbols) &&
            allocArray(s->outputDims, totalOutputRank) &&
            allocArray(s->outputDimBase, model->num_outputs) &&
            allocArray(s->outputBytes, model->num_outputs) &&
            allocArray(s->inputData, model->num_inputs) &&
            allocArray(s->inputBytes, model->num_inputs) &&
            allocArray(s->outputData, model->num_outputs) &&
            allocArray(s->allocTensors, model->num_outputs) &&
            allocArray(s->allocBuffers, model->num_outputs) &&
            allocArray(s->scratch, options.num_threads);
  if (!ok) {
    kiln_session_destroy(s);
    return fail(KILN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  int32_t base = 0;
  for (int32_t i = 0; i < model->num_outputs; ++i) {
    s->outputDimBase[i] = base;
    base += model->outputs[i].rank;
  }

  if (model->device) {
    char message[512] = "";
    s->deviceState =
        model->device->create(options.device, message, sizeof(message));
    if (!s->deviceState) {
      kiln_session_destroy(s);
      return fail(KILN_ERROR_DEVICE, message);
    }
  }

  s->pool = ThreadPool::create(options.num_threads);
  if (!s->pool) {
    kiln_session_destroy(s);
    return fail(KILN_ERROR_INTERNAL, "cannot start the thread pool");
  }
  s->context.version = KILN_RT_CONTEXT_VERSION;
  s->context.num_threads = s->pool->numThreads();
  s->context.parallel_for = contextParallelFor;
  s->context.scratch = contextScratch;
  s->context.report_error = contextReportError;
  s->context.refuse_allocation = contextRefuseAllocation;
  s->context.reject_input = contextRejectInput;
  s->context.impl = s;
  *out = s;
  return KILN_OK;
}

void kiln_session_destroy(kiln_session *s) {
  if (!s)
    return;
  ThreadPool::destroy(s->pool);
  if (s->deviceState)
    s->model->device->destroy(s->deviceState);
  if (s->scratch)
    for (int32_t i = 0; i < s->options.num_threads; ++i)
      free(s->scratch[i].data);
  if (s->allocBuffers)
    for (int32_t i = 0; i < s->model->num_outputs; ++i)
      free(s->allocBuffers[i].data);
  free(s->scratch);
  free(s->allocBuffers);
  free(s->allocTensors);
  free(s->outputData);
  free(s->inputData);
  free(s->inputBytes);
  free(s->outputBytes);
  free(s->outputDimBase);
  free(s->outputDims);
  free(s->symbolSource);
  free(s->symbols);
  s->~kiln_session();
  free(s);
}

const char *kiln_session_last_error(const kiln_session *s) {
  return s ? s->lastError : "";
}

int32_t kiln_session_num_threads(const kiln_session *s) {
  return s ? s->context.num_threads : 0;
}

int32_t kiln_session_num_inputs(const kiln_session *s) {
  return s ? s->model->num_inputs : 0;
}

int32_t kiln_session_num_outputs(const kiln_session *s) {
  return s ? s->model->num_outputs : 0;
}

int32_t kiln_session_num_symbols(const kiln_session *s) {
  return s ? s->model->num_symbols : 0;
}

} // extern "C"

namespace {

kiln_status tensorInfo(kiln_session *s, int32_t index, kiln_tensor_info *out,
                       bool input) {
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  const char *kind = input ? "input" : "output";
  int32_t count = input ? s->model->num_inputs : s->model->num_outputs;
  if (!out)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT, "%s info: out is NULL",
                    kind);
  if (index < 0 || index >= count)
    return setError(s, KILN_ERROR_INVALID_ARGUMENT,
                    "%s index %d out of range [0, %d)", kind, index, count);
  const kiln_abi_tensor &t =
      input ? s->model->inputs[index] : s->model->outputs[index];
  out->name = t.name;
  out->dtype = static_cast<kiln_dtype>(t.dtype);
  out->rank = t.rank;
  out->dims = t.dims;
  out->dim_names = t.dim_names;
  out->dim_symbols = t.dim_symbols;
  return KILN_OK;
}

} // namespace

extern "C" {

kiln_status kiln_session_input_info(kiln_session *s, int32_t index,
                                    kiln_tensor_info *out) {
  return tensorInfo(s, index, out, /*input=*/true);
}

kiln_status kiln_session_output_info(kiln_session *s, int32_t index,
                                     kiln_tensor_info *out) {
  return tensorInfo(s, index, out, /*input=*/false);
}

const char *kiln_session_symbol_name(const kiln_session *s, int32_t index) {
  if (!s || index < 0 || index >= s->model->num_symbols)
    return nullptr;
  return s->model->symbol_names[index];
}

int64_t kiln_session_symbol_max(const kiln_session *s, int32_t index) {
  if (!s || index < 0 || index >= s->model->num_symbols)
    return -1;
  return s->model->symbol_max[index];
}

int32_t kiln_session_output_dim_from_data(const kiln_session *s, int32_t index,
                                          int32_t dim) {
  if (!s || index < 0 || index >= s->model->num_outputs)
    return -1;
  const kiln_abi_tensor &t = s->model->outputs[index];
  if (dim < 0 || dim >= t.rank)
    return -1;
  return t.dims_from_data && t.dims_from_data[dim] ? 1 : 0;
}

} // extern "C"
