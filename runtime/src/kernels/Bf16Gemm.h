//===- Bf16Gemm.h - bf16 GEMM on compile-time-packed weights ----*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_BF16GEMM_H
#define KILN_RUNTIME_KERNELS_BF16GEMM_H

#include "kernels/BatchMatmul.h"
#include "kernels/CpuFeatures.h"

namespace kiln {

// The kernel behind _mlir_ciface_kiln_rt_matmul_packed_bf16 and its epilogue
// variant with the ISA forced, so tests can cover every variant on one
// machine: c = act(a * w + bias), w packed as Bf16Packing.h says. Sizes are
// checked by the entry points. Runs on the current context's pool, or on
// the calling thread without one; allocates nothing.
void matmulPackedBf16(const kiln_memref2_bf16 &a, const uint16_t *packed,
                      const kiln_memref2_f32 &c, const Epilogue &epilogue,
                      Bf16Isa isa);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_BF16GEMM_H
