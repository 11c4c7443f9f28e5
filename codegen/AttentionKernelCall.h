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

/// Keys and values that are each Concat(past, new) along the sequence (a
/// decode graph's present cache), as tensors before the concat. With a bf16
/// cache (kiln-kv-cache-type), the pasts are casts of the bf16 inputs
/// `narrowPastKey` and `narrowPastValue`.
struct AttentionAppend {
  Value pastKey, newKey, pastValue, newValue;
  Value narrowPastKey, narrowPastValue;
};

/// The result of `op` computed by `kernel`: its tensor operands are read
/// through `bufferization.to_buffer`, the output is a fresh buffer the call
/// overwrites. Null, and nothing built, for element types other than f32,
/// and for the CUDA kernel where the head dims are not static ones it has.
/// With `append` (CPU only), the call fills the concatenated keys and
/// values itself (kiln_rt_attention_append_f32): into the output argument
/// that is their only other use, or into fresh buffers that replace them.
/// With a bf16 cache whose presents are each only cast to bf16 and stored
/// into an output argument, the call reads the bf16 pasts and writes those
/// outputs (kiln_rt_attention_append_bf16); the f32 concats and casts are
/// then dead.
Value buildAttentionKernelCall(OpBuilder &b, AttentionOp op,
                               AttentionKernel kernel,
                               const AttentionAppend *append = nullptr);

} // namespace mlir::kiln

#endif
