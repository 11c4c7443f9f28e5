//===- Normalization.cpp - LayerNorm and RMSNorm as runtime calls ---------===//
//
// kiln.layer_norm and kiln.rms_norm on the CPU (codegen/
// LowerNormalizations.cpp): each row of a 2-D view normalized on its own,
// rows split over the context's pool. The row loops are in
// NormalizationRows.h.
//
//===----------------------------------------------------------------------===//

#include "kernels/Normalization.h"

#include "ExecutionContext.h"
#include "kernels/KernelError.h"
#include "kernels/NormalizationRows.h"

#include <stdio.h>

namespace kiln {

namespace {

// Elements a parallel chunk gets at least: below this, waking the pool
// costs more than the rows do.
constexpr int64_t kChunkElements = 16384;

struct Call {
  const norm::Problem *p;
  norm::RowsFn fn;
};

void rowsGeneric(const norm::Problem &p, int64_t begin, int64_t end) {
  norm::normRows(p, begin, end);
}

} // namespace

void normF32(const kiln_memref2_f32 &x, const float *scale, const float *bias,
             const kiln_memref2_f32 &out, float eps, int32_t kind,
             MatmulIsa isa) {
  norm::Problem p;
  p.x = x.aligned + x.offset;
  p.sxm = x.strides[0];
  p.sxn = x.strides[1];
  p.scale = scale;
  p.bias = bias;
  p.y = out.aligned + out.offset;
  p.sym = out.strides[0];
  p.syn = out.strides[1];
  p.rows = x.sizes[0];
  p.cols = x.sizes[1];
  p.eps = eps;
  p.kind = kind;
  if (p.rows == 0 || p.cols == 0)
    return;
  Call call{&p, rowsGeneric};
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    call.fn = norm::rowsAvx512;
#endif
  (void)isa;
  int64_t grain = kChunkElements / p.cols;
  kiln_rt_parallel_for(
      0, p.rows, grain > 0 ? grain : 1,
      [](void *arg, int64_t begin, int64_t end, int32_t) {
        const Call &c = *static_cast<const Call *>(arg);
        c.fn(*c.p, begin, end);
      },
      &call);
}

} // namespace kiln

extern "C" void _mlir_ciface_kiln_rt_norm_f32(kiln_memref2_f32 *x,
                                              kiln_memref1_f32 *scale,
                                              kiln_memref1_f32 *bias,
                                              kiln_memref2_f32 *out, float eps,
                                              int32_t kind) {
  if (!x || !scale || !bias || !out) {
    kiln::reportError("norm_f32: NULL memref descriptor");
    return;
  }
  const int64_t rows = x->sizes[0], cols = x->sizes[1];
  if (kind != KILN_RT_NORM_LAYER && kind != KILN_RT_NORM_RMS) {
    char message[64];
    snprintf(message, sizeof(message), "norm_f32: unknown kind %d", (int)kind);
    kiln::reportError(message);
    return;
  }
  if (rows < 0 || cols < 0 || out->sizes[0] != rows || out->sizes[1] != cols ||
      scale->sizes[0] != cols || scale->strides[0] != 1 ||
      (bias->sizes[0] != 0 &&
       (bias->sizes[0] != cols || bias->strides[0] != 1))) {
    char message[256];
    snprintf(message, sizeof(message),
             "norm_f32: x [%lld, %lld] and out [%lld, %lld] need %lld scales "
             "and 0 or %lld biases, got %lld and %lld",
             (long long)rows, (long long)cols, (long long)out->sizes[0],
             (long long)out->sizes[1], (long long)cols, (long long)cols,
             (long long)scale->sizes[0], (long long)bias->sizes[0]);
    kiln::reportError(message);
    return;
  }
  kiln::normF32(*x, scale->aligned + scale->offset,
                bias->sizes[0] ? bias->aligned + bias->offset : nullptr, *out,
                eps, kind, kiln::bestMatmulIsa());
}
