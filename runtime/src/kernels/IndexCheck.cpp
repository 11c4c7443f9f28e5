//===- IndexCheck.cpp - Indices read from the inputs, checked -------------===//
//
// A Gather's indices may come from the caller (token ids): one past the
// axis would read out of bounds, so the generated gather clamps it; this
// check, called before it, makes the run fail instead of answering with the
// clamped row, as ONNX Runtime fails.
//
//===----------------------------------------------------------------------===//

#include "kernels/Kernels.h"

#include "ExecutionContext.h"

#include <inttypes.h>
#include <stdio.h>

namespace {

template <typename Memref>
void checkIndices(const Memref &indices, int64_t extent,
                  const kiln_memref1_i8 &what) {
  const auto *data = indices.aligned + indices.offset;
  const int64_t n = indices.sizes[0], stride = indices.strides[0];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = data[i * stride];
    if (v >= -extent && v < extent)
      continue;
    kiln_rt_context *ctx = kiln_rt_current_context();
    if (!ctx)
      return;
    char message[384];
    snprintf(message, sizeof(message),
             "%.*s: index %" PRId64 " (element %" PRId64
             " of the indices) is out of range for an axis of extent %" PRId64,
             (int)what.sizes[0], (const char *)(what.aligned + what.offset), v,
             i, extent);
    if (ctx->reject_input)
      ctx->reject_input(ctx, message);
    else
      ctx->report_error(ctx, message);
    return;
  }
}

} // namespace

extern "C" void
_mlir_ciface_kiln_rt_check_indices_i64(kiln_memref1_i64 *indices,
                                       int64_t extent, kiln_memref1_i8 *what) {
  checkIndices(*indices, extent, *what);
}

extern "C" void
_mlir_ciface_kiln_rt_check_indices_i32(kiln_memref1_i32 *indices,
                                       int64_t extent, kiln_memref1_i8 *what) {
  checkIndices(*indices, extent, *what);
}
