/*===- FakeModel.c - A hand-written model descriptor for tests ------------===*/

#include "FakeModel.h"

#include "ExecutionContext.h"
#include "kernels/Kernels.h"

#include <stddef.h>

static const char *const kSymbolNames[] = {"batch", "seq"};
static const int64_t kSymbolMax[] = {8, 1024};

static const int64_t kIdsDims[] = {-1, -1};
static const int32_t kIdsSymbols[] = {0, 1};
static const char *const kIdsDimNames[] = {"batch", "seq"};
static const int64_t kXDims[] = {-1, -1, 4};
static const int32_t kXSymbols[] = {0, 1, -1};
static const char *const kXDimNames[] = {"batch", "seq", "4"};
static const kiln_abi_tensor kInputs[] = {
    {"input_ids", KILN_DTYPE_I64, 2, kIdsDims, kIdsSymbols, kIdsDimNames},
    {"x", KILN_DTYPE_F32, 3, kXDims, kXSymbols, kXDimNames},
};

static const int32_t kNoSymbols[] = {-1, -1, -1};
static const int64_t kYDims[] = {-1, -1, 4};
static const char *const kYDimNames[] = {"batch", "seq", "4"};
static const int64_t kZDims[] = {-1, -1};
static const char *const kZDimNames[] = {"batch", "seq + 1"};
static const kiln_abi_tensor kOutputs[] = {
    {"y", KILN_DTYPE_F32, 3, kYDims, kNoSymbols, kYDimNames},
    {"z", KILN_DTYPE_I64, 2, kZDims, kNoSymbols, kZDimNames},
};

static int32_t fakeOutputDims(const int64_t *s, int64_t *dims) {
  dims[0] = s[0];
  dims[1] = s[1];
  dims[2] = 4;
  dims[3] = s[0];
  dims[4] = s[1] + 1;
  return 0;
}

static float kTwiceIdentity[16] = {2, 0, 0, 0, 0, 2, 0, 0,
                                   0, 0, 2, 0, 0, 0, 0, 2};

static int32_t fakeRun(void *const *inputs, void *const *outputs,
                       const int64_t *s) {
  const int64_t *ids = (const int64_t *)inputs[0];
  float *x = (float *)inputs[1];
  float *y = (float *)outputs[0];
  int64_t *z = (int64_t *)outputs[1];
  int64_t batch = s[0], seq = s[1];
  for (int64_t i = 0; i < batch * seq; ++i)
    if (ids[i] < 0)
      return 3;
  /* Kernels must see the running session's context, even when the session
   * belongs to another copy of the runtime (kiln-run's). */
  kiln_rt_context *ctx = kiln_rt_current_context();
  if (!ctx || ctx->num_threads < 1)
    return 4;

  /* y = [batch*seq, 4] x [4, 4], as generated code would call it. */
  kiln_memref3_f32 a = {x, x, 0, {1, batch * seq, 4}, {batch * seq * 4, 4, 1}};
  kiln_memref3_f32 w = {
      kTwiceIdentity, kTwiceIdentity, 0, {1, 4, 4}, {16, 4, 1}};
  kiln_memref3_f32 c = {y, y, 0, {1, batch * seq, 4}, {batch * seq * 4, 4, 1}};
  _mlir_ciface_kiln_rt_batch_matmul_f32(&a, &w, &c);
  for (int64_t i = 0; i < batch * seq; ++i)
    for (int k = 0; k < 4; ++k)
      y[i * 4 + k] += (float)ids[i];

  for (int64_t b = 0; b < batch; ++b) {
    z[b * (seq + 1)] = 0;
    for (int64_t j = 1; j <= seq; ++j)
      z[b * (seq + 1) + j] = ids[b * seq + j - 1] + 1;
  }
  return 0;
}

/* Built as a loadable artifact, it exports what kilnc's artifacts export
 * (with KILN_FAKE_ABI_VERSION, a descriptor of another model ABI). */
#ifndef KILN_FAKE_ABI_VERSION
#define KILN_FAKE_ABI_VERSION KILN_MODEL_ABI_VERSION
#endif
#ifdef KILN_FAKE_MODEL_ARTIFACT
__attribute__((visibility("default")))
const kiln_abi_model kiln_model_descriptor = {
#else
const kiln_abi_model kiln_fake_model = {
#endif
    KILN_FAKE_ABI_VERSION,
    "fake",
    "cpu",
    2,
    kSymbolNames,
    kSymbolMax,
    2,
    kInputs,
    2,
    kOutputs,
    fakeOutputDims,
    fakeRun,
    0,
};

/* Built as an artifact of an older Kiln, whose runtime exports an older
 * version and execution context: these definitions precede the runtime's on
 * the link line and win (--allow-multiple-definition). */
#ifdef KILN_FAKE_OLD_RUNTIME
__attribute__((visibility("default"))) const char kiln_runtime_version[] =
    "0.0.1";
__attribute__((visibility("default")))
const uint32_t kiln_runtime_context_version = KILN_RT_CONTEXT_VERSION - 1;
#endif
