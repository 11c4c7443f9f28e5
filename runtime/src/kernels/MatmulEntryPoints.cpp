//===- MatmulEntryPoints.cpp - The fp32 GEMMs' C entry points -------------===//
//
// The _mlir_ciface_kiln_rt_*matmul* functions of Kernels.h: each checks its
// descriptors and arguments, then runs its kernel for the best ISA of this
// CPU.
//
//===----------------------------------------------------------------------===//

#include "kernels/BatchMatmul.h"
#include "kernels/KernelError.h"

#include <stdio.h>

extern "C" void _mlir_ciface_kiln_rt_batch_matmul_f32(kiln_memref3_f32 *a,
                                                      kiln_memref3_f32 *b,
                                                      kiln_memref3_f32 *c) {
  if (!a || !b || !c) {
    kiln::reportError("batch_matmul_f32: NULL memref descriptor");
    return;
  }
  kiln::batchMatmulF32(*a, *b, *c, kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_matmul_f32(kiln_memref2_f32 *a,
                                                kiln_memref2_f32 *b,
                                                kiln_memref2_f32 *c) {
  if (!a || !b || !c) {
    kiln::reportError("matmul_f32: NULL memref descriptor");
    return;
  }
  auto batchOfOne = [](const kiln_memref2_f32 &m) {
    return kiln_memref3_f32{m.allocated,
                            m.aligned,
                            m.offset,
                            {1, m.sizes[0], m.sizes[1]},
                            {0, m.strides[0], m.strides[1]}};
  };
  kiln::batchMatmulF32(batchOfOne(*a), batchOfOne(*b), batchOfOne(*c),
                       kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_matmul_packed_f32(kiln_memref2_f32 *a,
                                                       kiln_memref1_f32 *packed,
                                                       kiln_memref2_f32 *c) {
  if (!a || !packed || !c) {
    kiln::reportError("matmul_packed_f32: NULL memref descriptor");
    return;
  }
  kiln::packedMatmulF32(*a, packed->aligned + packed->offset, packed->sizes[0],
                        *c, kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32(
    kiln_memref2_f32 *a, kiln_memref1_f32 *packed, kiln_memref1_f32 *bias,
    kiln_memref2_f32 *c, int32_t activation) {
  if (!a || !packed || !bias || !c) {
    kiln::reportError("matmul_packed_epilogue_f32: NULL memref descriptor");
    return;
  }
  if (activation < KILN_RT_ACT_NONE || activation > KILN_RT_ACT_SILU) {
    char message[96];
    snprintf(message, sizeof(message),
             "matmul_packed_epilogue_f32: unknown activation %d",
             (int)activation);
    kiln::reportError(message);
    return;
  }
  int64_t biasSize = bias->sizes[0];
  if (biasSize != 0 && (biasSize != c->sizes[1] || bias->strides[0] != 1)) {
    char message[160];
    snprintf(message, sizeof(message),
             "matmul_packed_epilogue_f32: bias of %lld elements (stride %lld) "
             "for %lld output columns",
             (long long)biasSize, (long long)bias->strides[0],
             (long long)c->sizes[1]);
    kiln::reportError(message);
    return;
  }
  kiln::Epilogue epilogue{biasSize ? bias->aligned + bias->offset : nullptr,
                          activation};
  kiln::packedMatmulF32(*a, packed->aligned + packed->offset, packed->sizes[0],
                        *c, kiln::bestMatmulIsa(), epilogue);
}
