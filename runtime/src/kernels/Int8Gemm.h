//===- Int8Gemm.h - int8 GEMM on compile-time-packed weights ----*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_INT8GEMM_H
#define KILN_RUNTIME_KERNELS_INT8GEMM_H

#include "kernels/BatchMatmul.h"
#include "kernels/CpuFeatures.h"

namespace kiln {

// The kernel behind _mlir_ciface_kiln_rt_qlinear_s8_f32 with the ISA
// forced, so tests can cover every variant on one machine. Sizes are
// checked by the entry point. Runs on the current context's pool with its
// per-worker scratch; without a context, on the calling thread with scratch
// of its own for the call. No memory for scratch is reported to the
// context. inputScale and inputZero are KILN_RT_QUANT_STATIC_U8's
// parameters, which the caller has checked.
void qlinearS8F32(const kiln_memref2_f32 &a, const int8_t *packed,
                  const float *scales, const kiln_memref2_f32 &c,
                  const Epilogue &epilogue, int32_t quant, Int8Isa isa,
                  float inputScale = 0.0f, int32_t inputZero = 0);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_INT8GEMM_H
