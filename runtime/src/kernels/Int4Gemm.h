//===- Int4Gemm.h - int4 GEMM on packed weights -----------------*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_INT4GEMM_H
#define KILN_RUNTIME_KERNELS_INT4GEMM_H

#include "kernels/BatchMatmul.h"
#include "kernels/CpuFeatures.h"
#include "kernels/Kernels.h"

namespace kiln {

// The kernel behind _mlir_ciface_kiln_rt_qlinear_s4_f32 with the ISA
// forced, so tests can cover every variant on one machine. Sizes are
// checked by the entry point.
void qlinearS4F32(const kiln_memref2_f32 &a, const uint8_t *packed,
                  int64_t group, bool zeroPoints, const kiln_memref2_f32 &c,
                  const Epilogue &epilogue, MatmulIsa isa);

// The kernel behind _mlir_ciface_kiln_rt_qlinear_s4_q8_f32, a's rows
// quantized to int8, with the int8 ISA forced.
void qlinearS4Q8F32(const kiln_memref2_f32 &a, const uint8_t *packed,
                    int64_t group, bool zeroPoints, const kiln_memref2_f32 &c,
                    const Epilogue &epilogue, Int8Isa isa);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_INT4GEMM_H
