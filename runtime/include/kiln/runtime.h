/*===- runtime.h - Kiln runtime C API --------------------------------------===*
 *
 * The stable C11 API through which a product runs a kilnc artifact:
 *
 *   kiln_session *s;
 *   if (kiln_session_create(&kiln_model_descriptor, NULL, &s) != KILN_OK) ...
 *   kiln_status st = kiln_session_run(s, inputs, 2, outputs, 1);
 *   if (st != KILN_OK) fprintf(stderr, "%s\n", kiln_session_last_error(s));
 *   kiln_session_destroy(s);
 *
 * There is no global state. A session is used by one thread at a time;
 * distinct sessions, including sessions of the same model, may run
 * concurrently. Every function that can fail returns a kiln_status; the
 * session keeps a message naming what was wrong.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "kiln/model_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exported even when an artifact is built with -fvisibility=hidden. */
#if defined(_WIN32)
#define KILN_API
#else
#define KILN_API __attribute__((visibility("default")))
#endif

typedef struct kiln_session kiln_session;

typedef enum kiln_status KILN_ENUM_INT32 {
  KILN_OK = 0,
  KILN_ERROR_INVALID_ARGUMENT,
  KILN_ERROR_DTYPE_MISMATCH,
  KILN_ERROR_RANK_MISMATCH,
  KILN_ERROR_SHAPE_MISMATCH,
  KILN_ERROR_BUFFER_TOO_SMALL,
  KILN_ERROR_OUT_OF_MEMORY,
  KILN_ERROR_LIMIT_EXCEEDED,
  KILN_ERROR_UNSUPPORTED,
  KILN_ERROR_DEVICE,
  KILN_ERROR_INTERNAL,
  /* A file the model needs (its external weights) is missing, unreadable,
   * truncated or from another compile. */
  KILN_ERROR_IO,
  /* Not a status: makes the enum 32 bits and any int32 a valid value. */
  KILN_STATUS_MAX_ENUM = 0x7fffffff
} kiln_status;

/* Static string naming `status` ("KILN_ERROR_SHAPE_MISMATCH"); never NULL.
 * Thread-safe. */
KILN_API const char *kiln_status_string(kiln_status status);

/* Static short name of an element type ("f32", "i64"), "?" if unknown.
 * Thread-safe. */
KILN_API const char *kiln_dtype_name(int32_t dtype);

/* Bytes per element of `dtype`, 0 if unknown. Thread-safe. */
KILN_API size_t kiln_dtype_size(int32_t dtype);

/*===----------------------------------------------------------------------===*
 * Sessions
 *===----------------------------------------------------------------------===*/

#define KILN_DEFAULT_MAX_ARENA_BYTES (16ull << 30)

typedef struct kiln_session_options {
  /* sizeof(kiln_session_options) as the caller compiled it; lets the struct
   * grow. Fields past a smaller struct_size keep their defaults. */
  size_t struct_size;
  /* Worker threads including the caller; 0 means one per available core. */
  int32_t num_threads;
  /* Device ordinal within the model's target: must be 0 for a "cpu"
   * model; the CUDA device ordinal (0 = first GPU) for a "cuda" model. */
  int32_t device;
  /* Upper bound on the bytes one run may hold at once in its outputs and
   * intermediate buffers; 0 means KILN_DEFAULT_MAX_ARENA_BYTES. */
  uint64_t max_arena_bytes;
  /* Optional: when kiln_session_create fails, a NUL-terminated reason is
   * written here (truncated to error_message_size), e.g. "no CUDA driver:
   * libcuda.so.1 not found". Borrowed for the call only. */
  char *error_message;
  size_t error_message_size;
  /* Optional: memory the caller owns for the intermediate buffers of this
   * session's runs, 64-byte aligned and arena_bytes long (both 0 for none).
   * A run then places every buffer generated code asks for in it and
   * allocates none; one that needs more fails with KILN_ERROR_LIMIT_EXCEEDED,
   * naming the bytes. kilnc prints the most a model needs at its --max-shape
   * bounds ("peak arena"). Kiln touches it only during runs; it must outlive
   * the session. Outputs are not placed in it: kiln_session_run takes the
   * caller's output buffers. */
  void *arena;
  uint64_t arena_bytes;
} kiln_session_options;

/* Fills the first `size` bytes of `opts` with the defaults and sets
 * struct_size to `size` (at most sizeof(kiln_session_options) of this
 * runtime). Thread-safe. */
KILN_API void kiln_session_options_init_sized(kiln_session_options *opts,
                                              size_t size);
/* Fills `opts`, the struct as the caller's header declares it, with the
 * defaults and sets struct_size. A caller compiled against an older header
 * calls the exported function of that name, which fills the struct of the
 * first version only (through error_message_size), so a newer runtime never
 * writes past an older caller's struct. */
#define kiln_session_options_init(opts)                                        \
  kiln_session_options_init_sized((opts), sizeof(*(opts)))
KILN_API void(kiln_session_options_init)(kiln_session_options *opts);

/* The Kiln version of this runtime copy ("0.1.0"), and the version of the
 * execution context through which its kernels reach a session's thread
 * pool. Every artifact exports its own copy's; a host that dlopens one reads
 * them with dlsym (an artifact linked before Kiln recorded them exports
 * neither). A host with a runtime of its own (kiln-run) shares its pool with
 * the artifact's kernels only when the context versions are equal; otherwise
 * they run single-threaded. */
KILN_API extern const char kiln_runtime_version[];
KILN_API extern const uint32_t kiln_runtime_context_version;

/* Compares two dotted versions ("0.1.0", "0.10.2") number by number, a
 * missing number counting as 0: <0, 0 or >0 as `a` is older than, equal to or
 * newer than `b`. */
static inline int kiln_version_compare(const char *a, const char *b) {
  while (*a || *b) {
    unsigned long x = 0, y = 0;
    for (; *a >= '0' && *a <= '9'; ++a)
      x = x * 10 + (unsigned long)(*a - '0');
    for (; *b >= '0' && *b <= '9'; ++b)
      y = y * 10 + (unsigned long)(*b - '0');
    if (x != y)
      return x < y ? -1 : 1;
    if (*a)
      ++a;
    if (*b)
      ++b;
  }
  return 0;
}

/* Checks that `model` is a well-formed descriptor this runtime can run and
 * writes the reason when it is not into `message` (NUL-terminated, truncated
 * to `message_size`; may be NULL). kiln_session_create runs the same check, so
 * call this to learn why a create failed. Thread-safe.
 * Errors: INVALID_ARGUMENT (NULL model or malformed descriptor), UNSUPPORTED
 * (other ABI version). */
KILN_API kiln_status kiln_model_validate(const kiln_abi_model *model,
                                         char *message, size_t message_size);

/* Creates a session for `model` and starts its thread pool; for a device
 * model (target "cuda") it also loads the driver (dlopen, so an artifact
 * loads on machines without one), picks the device and creates the
 * session's stream and libraries. `model` is borrowed and must outlive the
 * session (it normally lives in the artifact's .rodata). `opts` may be NULL
 * for the defaults and is copied. On success *out owns the new session; on
 * failure *out is set to NULL and opts->error_message, if given, says why.
 * Thread-safe. Errors: INVALID_ARGUMENT (NULL model/out, bad options,
 * malformed descriptor), UNSUPPORTED (ABI version, target or device),
 * DEVICE (no driver, no such device, or the device could not be set up),
 * IO (a model compiled with --weights=external whose weights file is
 * missing, truncated or from another compile; the message names the file),
 * OUT_OF_MEMORY, INTERNAL (threads could not be started). */
KILN_API kiln_status kiln_session_create(const kiln_abi_model *model,
                                         const kiln_session_options *opts,
                                         kiln_session **out);

/* Joins the session's threads and frees it, with every buffer it handed out
 * from kiln_session_run_alloc. NULL is a no-op. Must not race with any other
 * call on the same session. */
KILN_API void kiln_session_destroy(kiln_session *session);

/* Message of the most recent failure on `session`; "" when none has failed
 * since the last run started (each run clears it). The string is owned by the
 * session and valid until its next call. Returns "" for NULL. */
KILN_API const char *kiln_session_last_error(const kiln_session *session);

/* Threads the session runs kernels on (including the caller). */
KILN_API int32_t kiln_session_num_threads(const kiln_session *session);

/*===----------------------------------------------------------------------===*
 * Signature
 *
 * All strings and arrays returned below are owned by the model descriptor and
 * live as long as it does. These calls read immutable data and may be made
 * from any thread, concurrently with a run; only a failing *_info call writes
 * the last error.
 *===----------------------------------------------------------------------===*/

typedef struct kiln_tensor_info {
  const char *name;
  kiln_dtype dtype;
  int32_t rank;
  /* Static extent per dim, -1 where the dim is symbolic. */
  const int64_t *dims;
  /* Printable form of each dim: "batch", "seq + 1", "64". */
  const char *const *dim_names;
  /* Inputs: index of the symbol each dim binds, -1 for static dims; NULL
   * when the model gives none (all static). Outputs: NULL or all -1. */
  const int32_t *dim_symbols;
} kiln_tensor_info;

/* Counts; 0 for a NULL session. */
KILN_API int32_t kiln_session_num_inputs(const kiln_session *session);
KILN_API int32_t kiln_session_num_outputs(const kiln_session *session);
KILN_API int32_t kiln_session_num_symbols(const kiln_session *session);

/* Describe input/output `index`. Errors: INVALID_ARGUMENT (NULL argument or
 * index out of range; the session's last error says which). */
KILN_API kiln_status kiln_session_input_info(kiln_session *session,
                                             int32_t index,
                                             kiln_tensor_info *out);
KILN_API kiln_status kiln_session_output_info(kiln_session *session,
                                              int32_t index,
                                              kiln_tensor_info *out);

/* Whether dim `dim` of output `index` is known only once the inputs' data
 * is read (1: the model computes that shape from tensor data, as a Reshape
 * to a computed shape does), follows from the input shapes (0), or is out
 * of range (-1). A caller that sizes buffers ahead of a run asks
 * kiln_session_output_dims for such dims, or lets kiln_session_run_alloc
 * allocate. */
KILN_API int32_t kiln_session_output_dim_from_data(const kiln_session *session,
                                                   int32_t index, int32_t dim);

/* Name of symbolic dimension `index` ("batch"), NULL if out of range. */
KILN_API const char *kiln_session_symbol_name(const kiln_session *session,
                                              int32_t index);
/* Largest legal value of symbol `index` (INT64_MAX if unbounded), -1 if out
 * of range. */
KILN_API int64_t kiln_session_symbol_max(const kiln_session *session,
                                         int32_t index);

/*===----------------------------------------------------------------------===*
 * Running
 *===----------------------------------------------------------------------===*/

/* A dense row-major tensor. The caller owns `dims` and `data`. */
typedef struct kiln_tensor {
  kiln_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  void *data;
  size_t size_bytes; /* capacity of `data` */
} kiln_tensor;

/* Runs the model. Inputs are matched by position with the signature; each
 * symbolic dim binds its symbol, and a symbol seen in several inputs must
 * have one value, >= 1 and <= its maximum. Output dims are computed from the
 * symbols (for a model that reads shapes from tensor data, once the inputs'
 * data is read: kiln_session_output_dims gives them ahead) and every caller
 * buffer must have exactly that dtype, rank and dims, and at least that many
 * bytes. Nothing is written to any output
 * unless every check passes. Buffers are borrowed for the call only. Output
 * buffers must not overlap any input or each other (INVALID_ARGUMENT): the
 * model writes outputs while it still reads inputs.
 * Thread-safety: one call at a time per session (a concurrent call on the
 * same session fails with INVALID_ARGUMENT and leaves last_error alone).
 * Errors: INVALID_ARGUMENT (NULL pointers, wrong counts; on the CPU also a
 * Gather or GatherElements index read from the inputs that is out of range
 * for its axis, e.g. a token id past the vocabulary: the message names the
 * node, the index and the extent, and the run stops there), DTYPE_MISMATCH,
 * RANK_MISMATCH, SHAPE_MISMATCH (static dim, symbol disagreement or < 1,
 * or a shape read from the inputs' data that its node rejects: the message
 * names the node),
 * BUFFER_TOO_SMALL, LIMIT_EXCEEDED (symbol above its maximum, byte size
 * overflow, max_arena_bytes), INTERNAL (the model reported a failure).
 * The outputs' bytes are checked against max_arena_bytes before the model
 * runs; an intermediate buffer that would pass it (or that the system cannot
 * allocate: OUT_OF_MEMORY) stops the run midway, and the outputs' contents
 * are then unspecified. */
KILN_API kiln_status kiln_session_run(kiln_session *session,
                                      const kiln_tensor *inputs,
                                      size_t num_inputs, kiln_tensor *outputs,
                                      size_t num_outputs);

/* The dims every output would have for `inputs`, concatenated in output
 * order into `dims` (room for `num_dims`, at least the sum of the outputs'
 * ranks), without running the model. Checks the inputs as kiln_session_run
 * does; for a model that reads shapes from tensor data it reads them (and
 * fails as kiln_session_run would when a value read is invalid). Same
 * thread-safety as kiln_session_run. Errors: those of kiln_session_run's
 * input checks, INVALID_ARGUMENT (dims NULL or too short). */
KILN_API kiln_status kiln_session_output_dims(kiln_session *session,
                                              const kiln_tensor *inputs,
                                              size_t num_inputs, int64_t *dims,
                                              size_t num_dims);

/* Like kiln_session_run, for a device model (target "cuda"): every data
 * pointer is memory of the session's device (from cuMemAlloc or the like,
 * in the context of the device chosen at create), and nothing is copied
 * between host and device. The call returns once the outputs are written.
 * Same checks, thread-safety and errors as kiln_session_run, plus
 * UNSUPPORTED for a cpu model. */
KILN_API kiln_status kiln_session_run_device(kiln_session *session,
                                             const kiln_tensor *inputs,
                                             size_t num_inputs,
                                             kiln_tensor *outputs,
                                             size_t num_outputs);

/* Like kiln_session_run, but the session allocates the outputs. On success
 * *outputs points to *num_outputs tensors; the array, their dims and data are
 * owned by the session and stay valid until the next run or run_alloc on it
 * or its destruction (copy what must outlive that). On failure *outputs is
 * NULL and *num_outputs 0. Same thread-safety and errors as
 * kiln_session_run, plus OUT_OF_MEMORY. */
KILN_API kiln_status kiln_session_run_alloc(kiln_session *session,
                                            const kiln_tensor *inputs,
                                            size_t num_inputs,
                                            kiln_tensor **outputs,
                                            size_t *num_outputs);

/*===----------------------------------------------------------------------===*
 * In-place KV cache
 *
 * A decode graph's present.N outputs are Concat(past.N, new) of its
 * past.N inputs (the descriptor's kv_pairs). Run through a cache, each pair
 * lives in one buffer of a maximum length: a step reads the past in place,
 * writes only the new positions after it, and the cache grows by them. Every
 * other input and output is passed as in kiln_session_run.
 *
 *   kiln_kv_cache *c;
 *   kiln_kv_cache_create(s, 1, 1024, &c);
 *   kiln_kv_cache_set(c, prefill_presents, num_pairs);   // length = prompt
 *   for (...) kiln_session_run_cached(s, c, &ids, 1, &logits, 1);
 *   kiln_kv_cache_destroy(c);
 *===----------------------------------------------------------------------===*/

typedef struct kiln_kv_cache kiln_kv_cache;

/* Number of KV-cache pairs of the session's model (0: none, or NULL). */
KILN_API int32_t kiln_session_num_kv_pairs(const kiln_session *session);

/* Creates an empty cache for `session`'s model with room for `max_length`
 * positions along each pair's concat axis, for `batch` sequences (dim 0 of
 * the cache tensors, when symbolic; every other dim must be static). The
 * cache belongs to the session and must be destroyed before it.
 * Errors: INVALID_ARGUMENT (NULL, batch or max_length < 1), UNSUPPORTED (no
 * pairs, a device model, another symbolic dim), LIMIT_EXCEEDED (byte size
 * overflows), OUT_OF_MEMORY. The message is the session's last error. */
KILN_API kiln_status kiln_kv_cache_create(kiln_session *session, int64_t batch,
                                          int64_t max_length,
                                          kiln_kv_cache **out);

/* Frees the cache; NULL is a no-op. */
KILN_API void kiln_kv_cache_destroy(kiln_kv_cache *cache);

/* Positions the cache holds; -1 for NULL. */
KILN_API int64_t kiln_kv_cache_length(const kiln_kv_cache *cache);

/* Replaces the cache's contents with dense tensors, one per pair in the
 * order of kv pairs (the past inputs' order), all of one length along the
 * axis (a prefill graph's present outputs); with num_past 0 the cache
 * becomes empty. The tensors have the past inputs' dtype, or f32 for a bf16
 * or f8e4m3fn cache (kilnc --kv-cache-type on the decode graph alone),
 * rounded to nearest even as they are copied (f8e4m3fn saturating at
 * +-448). Errors: INVALID_ARGUMENT (count, NULL,
 * lengths differ),
 * DTYPE_MISMATCH, RANK_MISMATCH, SHAPE_MISMATCH, BUFFER_TOO_SMALL,
 * LIMIT_EXCEEDED (longer than the cache). */
KILN_API kiln_status kiln_kv_cache_set(kiln_kv_cache *cache,
                                       const kiln_tensor *past,
                                       size_t num_past);

/* Writes one sequence's past into row `row` of the cache (dim 0, the batch)
 * at positions [offset, offset + n) of each pair's axis: `past` holds one
 * tensor per pair, in kv-pair order, each with dim 0 of 1 and n positions
 * (a batch-1 prefill's present outputs). offset + n must not pass the
 * cache's length; other rows are untouched. With kiln_kv_cache_realign this
 * lets rows of different lengths share one cache, left-padded, the padding
 * masked by the model's attention_mask (kiln-serve's continuous batching).
 * Errors: those of kiln_kv_cache_set, INVALID_ARGUMENT (row outside the
 * batch), UNSUPPORTED (a pair cached along dim 0). */
KILN_API kiln_status kiln_kv_cache_write_row(kiln_kv_cache *cache, int64_t row,
                                             int64_t offset,
                                             const kiln_tensor *past,
                                             size_t num_past);

/* Sets the cache's length to `new_length`, keeping the content of the rows
 * in use (kiln_kv_cache_use_rows; the whole batch until it is called)
 * right-aligned: growing by g moves their positions g later and zeroes the
 * first g; shrinking by g drops the first g positions. Rows past those in use
 * are not moved, so their content is unspecified afterwards. Errors:
 * INVALID_ARGUMENT (NULL), LIMIT_EXCEEDED (outside 0..max_length). */
KILN_API kiln_status kiln_kv_cache_realign(kiln_kv_cache *cache,
                                           int64_t new_length);

/* Steps run on the first `rows` rows of the cache's batch (1..batch; the
 * batch it was created with, until changed): the other inputs and outputs
 * then have `rows` along dim 0. Rows past it keep their content. Errors:
 * INVALID_ARGUMENT (NULL, rows out of range, a pair cached along dim 0). */
KILN_API kiln_status kiln_kv_cache_use_rows(kiln_kv_cache *cache, int64_t rows);

/* Copies row `from` of every pair over row `to` (all max_length positions).
 * Errors: INVALID_ARGUMENT (NULL, a row out of range, a pair cached along
 * dim 0). */
KILN_API kiln_status kiln_kv_cache_copy_row(kiln_kv_cache *cache, int64_t from,
                                            int64_t to);

/* Runs one step with the cache as the pairs' inputs and outputs: `inputs`
 * and `outputs` are the model's others, in signature order. On success the
 * cache holds the present (its length grows by the new positions); on
 * failure it is unchanged unless the model failed midway (INTERNAL,
 * OUT_OF_MEMORY or LIMIT_EXCEEDED from an intermediate buffer), when the
 * positions after the old length are unspecified but the length is kept.
 * The cache must hold at least one position. Same checks, thread-safety and
 * errors as kiln_session_run, plus LIMIT_EXCEEDED when the step would not
 * fit. */
KILN_API kiln_status kiln_session_run_cached(
    kiln_session *session, kiln_kv_cache *cache, const kiln_tensor *inputs,
    size_t num_inputs, kiln_tensor *outputs, size_t num_outputs);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
