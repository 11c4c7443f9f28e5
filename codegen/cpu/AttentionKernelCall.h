//===- AttentionKernelCall.h - kiln.attention as a runtime call -*- C++ -*-===//
#ifndef KILN_CODEGEN_CPU_ATTENTIONKERNELCALL_H
#define KILN_CODEGEN_CPU_ATTENTIONKERNELCALL_H

#include "dialects/kiln/KilnOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::kiln {

/// The result of `op` computed by the runtime's fused attention kernel
/// (runtime/src/kernels/Attention.cpp): its tensor operands are read through
/// `bufferization.to_buffer`, the output is a fresh buffer the call
/// overwrites. Null, and nothing built, for element types other than f32.
Value buildAttentionKernelCall(OpBuilder &b, AttentionOp op);

} // namespace mlir::kiln

#endif
