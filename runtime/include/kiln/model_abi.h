/*===- model_abi.h - ABI between kilnc-generated code and the runtime -----===*
 *
 * Every artifact that kilnc links exports one `kiln_model_abi` named
 * `kiln_model_descriptor` (and `<name>_model_descriptor`). The runtime reads
 * the signature from it, binds the symbolic dimensions from the input shapes
 * (and, for a model with shapes that depend on tensor data, from the inputs'
 * data through `infer_symbols`), evaluates the output-shape formulas and
 * calls `run`. Nothing in here walks a
 * graph: all of it was computed by the compiler.
 *
 * Bump KILN_MODEL_ABI_VERSION on any layout change; the runtime refuses a
 * descriptor of another version.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_MODEL_ABI_H
#define KILN_MODEL_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_MODEL_ABI_VERSION 6u

/* In C++ the ABI enums get int32_t as their fixed underlying type: a C
 * caller may store any int32 in a kiln_dtype field, and only with a fixed
 * type is every such value one the C++ runtime may load (otherwise values
 * outside the enumerators' bit range are undefined behavior). The size and
 * representation are the same as C's. */
#ifdef __cplusplus
#define KILN_ENUM_INT32 : int32_t
#else
#define KILN_ENUM_INT32
#endif

/* Element types use ONNX TensorProto.DataType numbering. */
typedef enum kiln_dtype KILN_ENUM_INT32 {
  KILN_DTYPE_UNDEFINED = 0,
  KILN_DTYPE_F32 = 1,
  KILN_DTYPE_U8 = 2,
  KILN_DTYPE_I8 = 3,
  KILN_DTYPE_U16 = 4,
  KILN_DTYPE_I16 = 5,
  KILN_DTYPE_I32 = 6,
  KILN_DTYPE_I64 = 7,
  KILN_DTYPE_BOOL = 9,
  KILN_DTYPE_F16 = 10,
  KILN_DTYPE_F64 = 11,
  KILN_DTYPE_U32 = 12,
  KILN_DTYPE_U64 = 13,
  KILN_DTYPE_BF16 = 16,
  KILN_DTYPE_F8E4M3FN = 17
} kiln_dtype;

/* Every kiln_dtype once: X(SUFFIX, name, size, ctype) for KILN_DTYPE_SUFFIX,
 * its short name, its size in bytes and the C type of one element (16-bit
 * floats as their bit patterns, bool as one byte). The runtime's
 * kiln_dtype_name/kiln_dtype_size, the compiler's element types and the
 * generated headers all read this one table. */
#define KILN_DTYPE_TABLE(X)                                                    \
  X(F32, "f32", 4, float)                                                      \
  X(U8, "u8", 1, uint8_t)                                                      \
  X(I8, "i8", 1, int8_t)                                                       \
  X(U16, "u16", 2, uint16_t)                                                   \
  X(I16, "i16", 2, int16_t)                                                    \
  X(I32, "i32", 4, int32_t)                                                    \
  X(I64, "i64", 8, int64_t)                                                    \
  X(BOOL, "bool", 1, uint8_t)                                                  \
  X(F16, "f16", 2, uint16_t)                                                   \
  X(F64, "f64", 8, double)                                                     \
  X(U32, "u32", 4, uint32_t)                                                   \
  X(U64, "u64", 8, uint64_t)                                                   \
  X(BF16, "bf16", 2, uint16_t)                                                 \
  X(F8E4M3FN, "f8e4m3fn", 1, uint8_t)

/* Bytes per element of `dtype`, 0 for a value outside the table (the
 * runtime's kiln_dtype_size and the compiler share it). */
static inline size_t kiln_abi_dtype_size(int32_t dtype) {
  switch (dtype) {
#define KILN_DTYPE_SIZE_CASE(suffix, name, size, ctype)                        \
  case KILN_DTYPE_##suffix:                                                    \
    return size;
    KILN_DTYPE_TABLE(KILN_DTYPE_SIZE_CASE)
#undef KILN_DTYPE_SIZE_CASE
  default:
    return 0;
  }
}

/* One input or output of the model. */
typedef struct kiln_abi_tensor {
  const char *name;
  int32_t dtype; /* kiln_dtype */
  int32_t rank;
  /* Static extent per dim, or -1 where the dim is symbolic. */
  const int64_t *dims;
  /* Inputs: index of the symbol a dynamic dim binds, -1 for static dims.
   * Outputs: always -1 (output dims come from `output_dims`). */
  const int32_t *dim_symbols;
  /* Human-readable form of each dim: "batch", "past_seq + seq", "64". */
  const char *const *dim_names;
  /* Outputs: 1 where the dim depends on a data symbol (it is known only
   * once the inputs' data is read), else 0; NULL when no dim does.
   * Inputs: NULL. */
  const uint8_t *dims_from_data;
} kiln_abi_tensor;

struct kiln_abi_model;

#define KILN_ABI_RUN_DEVICE_POINTERS 1u

/* How a device artifact runs: the per-session state behind a session of a
 * model whose `target` is not "cpu". The runtime library of that device
 * (runtime/cuda for "cuda") defines it and the artifact links it, so that a
 * program loading the artifact needs no device code of its own. */
typedef struct kiln_abi_device {
  const char *kind; /* "cuda" */
  /* Sets up device `ordinal` for one session (driver, context, stream,
   * libraries). Returns the state, or NULL with a NUL-terminated reason in
   * `message` (e.g. no driver on this machine). */
  void *(*create)(int32_t ordinal, char *message, size_t message_size);
  void (*destroy)(void *state);
  /* Runs `model`: copies the inputs to the device, calls model->run with
   * device pointers, copies the outputs back and waits. With
   * KILN_ABI_RUN_DEVICE_POINTERS in `flags` the buffers already are device
   * memory and nothing is copied. Returns 0, or nonzero with a reason in
   * `message`. */
  int32_t (*run)(void *state, const struct kiln_abi_model *model,
                 void *const *inputs, void *const *outputs,
                 const int64_t *symbols, const int64_t *output_dims,
                 uint32_t flags, char *message, size_t message_size);
} kiln_abi_device;

/* An output that is Concat(input, new) along `axis` (a decode graph's
 * present and past). Both are compiled as strided views, dense from `axis`
 * inward, so that a preallocated cache longer along `axis` can hold them in
 * place (kiln_session_run_cached). */
typedef struct kiln_abi_kv_pair {
  int32_t input;
  int32_t output;
  int32_t axis;
} kiln_abi_kv_pair;

/* A weights file (kilnc --weights=external) starts with this header; the
 * weights follow at `data_offset`, laid out as the artifact's code reads
 * them. All fields little-endian. */
#define KILN_WEIGHTS_FILE_MAGIC "KILNWTS1"
#define KILN_WEIGHTS_FILE_DATA_OFFSET 65536u /* a multiple of any page size */
typedef struct kiln_weights_file_header {
  char magic[8]; /* KILN_WEIGHTS_FILE_MAGIC, not NUL-terminated */
  uint64_t data_offset;
  uint64_t data_bytes;
  uint8_t hash[32]; /* BLAKE3 of the weights and their layout */
} kiln_weights_file_header;

/* Weights kept in "<library>.weights" beside the library rather than in it
 * (kilnc --weights=external): the library reserves the address range its
 * code reads them at, and `map` maps the file over it before the first
 * session of the process runs. Or weights in the library that `map` copies
 * onto anonymous memory at the same address, which the kernel may back with
 * huge pages (kilnc --weights=embedded); that `map` always returns 0 and
 * leaves them in place where it cannot copy them. */
typedef struct kiln_abi_weights {
  /* The range: page-aligned (the library aligns it to 64 KiB or 2 MiB),
   * `bytes` long and reserved up to the end of its last page. */
  void *base;
  uint64_t bytes;
  /* What the file's header must hold: the library's weights, not another
   * compile's. */
  uint8_t hash[32];
  /* Finds the file from the library's path, checks its header and size and
   * maps it read-only over `base`; once per process, later calls return 0 at
   * once. Thread-safe. Returns 0, or nonzero with a reason naming the file
   * in `message` (missing, truncated, another compile's). */
  int32_t (*map)(struct kiln_abi_weights *weights, char *message,
                 size_t message_size);
  /* Owned by `map`: nonzero once the file is mapped. */
  int32_t mapped;
} kiln_abi_weights;

typedef struct kiln_abi_model {
  uint32_t abi_version; /* KILN_MODEL_ABI_VERSION */
  const char *name;
  const char *target; /* "cpu" or "cuda" */
  int32_t num_symbols;
  const char *const *symbol_names;
  /* Largest legal value per symbol (INT64_MAX where unbounded). */
  const int64_t *symbol_max;
  int32_t num_inputs;
  const kiln_abi_tensor *inputs;
  int32_t num_outputs;
  const kiln_abi_tensor *outputs;
  /* Fills the dims of every output, concatenated in output order, from the
   * symbol values. Returns 0, or -1 if a dim would be negative. */
  int32_t (*output_dims)(const int64_t *symbols, int64_t *dims);
  /* Runs the model on dense row-major buffers whose dims match the
   * signature under `symbols`. `inputs[i]`/`outputs[i]` are never NULL.
   * Returns 0 on success. */
  int32_t (*run)(void *const *inputs, void *const *outputs,
                 const int64_t *symbols);
  /* NULL for "cpu". Otherwise `run` takes device pointers and sessions go
   * through this. */
  const kiln_abi_device *device;
  int32_t num_kv_pairs;
  const kiln_abi_kv_pair *kv_pairs;
  /* Like `run`, with the element strides of every tensor: `strides[i]` for
   * input i, `strides[num_inputs + o]` for output o, each NULL for dense (as
   * is `strides` itself). Only the tensors of kv_pairs may be given other
   * strides. */
  int32_t (*run_strided)(void *const *inputs, void *const *outputs,
                         const int64_t *symbols, const int64_t *const *strides);
  /* Smallest legal value per symbol, 0 or 1; NULL for 1 everywhere. 0 is
   * where the compiler proved an empty extent safe: the past length of a KV
   * cache (a decoder's first call, with no past yet). */
  const int64_t *symbol_min;
  /* Symbols read from the inputs' data rather than their shapes (a Reshape
   * to a computed shape, a Slice whose bounds are a graph input): the last
   * num_data_symbols of the symbols. No input dim binds them. */
  int32_t num_data_symbols;
  /* Non-NULL when the model reads shapes from data: with the other symbols
   * bound, computes the data symbols from the inputs into their slots of
   * `symbols` and checks each value read against the rules of its node.
   * Strides as in run_strided. Returns 0, or 1 + the index in
   * symbol_checks of the first check that failed (the data symbols are 0
   * then). Runs generated code: call it as `run` is called. */
  int32_t (*infer_symbols)(void *const *inputs, int64_t *symbols,
                           const int64_t *const *strides);
  int32_t num_symbol_checks;
  /* One message per check, naming the node: "node 'r' (Reshape, ai.onnx
   * opset 18): the shape read at run time from 'shape' does not fit ...". */
  const char *const *symbol_checks;
  /* NULL when the weights are in the library and read where they lie
   * (kilnc --weights=mapped, or a static archive); otherwise sessions map or
   * copy them first (kiln_session_create). */
  kiln_abi_weights *weights;
} kiln_abi_model;

#ifdef __cplusplus
}
#endif

#endif /* KILN_MODEL_ABI_H */
