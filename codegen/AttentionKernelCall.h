//===- AttentionKernelCall.h - kiln.attention as a runtime call -*- C++ -*-===//
#ifndef KILN_CODEGEN_ATTENTIONKERNELCALL_H
#define KILN_CODEGEN_ATTENTIONKERNELCALL_H

#include "dialects/kiln/KilnOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::kiln {

/// Which runtime's fused attention kernel a call goes to.
enum class AttentionKernel {
  /// kiln_rt_attention{,_masked}_f32 (runtime/src/kernels/Attention.cpp),
  /// on host memory.
  Cpu,
  /// kiln_cuda_attention{,_masked}_f32 (runtime/cuda/Attention.cpp), on
  /// device memory; it has kernels for head dims 16, 32, 64, 80, 96 and 128
  /// with equal key and value head dims.
  Cuda,
};

/// The result of `op` computed by `kernel`: its tensor operands are read
/// through `bufferization.to_buffer`, the output is a fresh buffer the call
/// overwrites. Null, and nothing built, for element types other than f32,
/// and for the CUDA kernel where the head dims are not static ones it has.
Value buildAttentionKernelCall(OpBuilder &b, AttentionOp op,
                               AttentionKernel kernel);

} // namespace mlir::kiln

#endif
