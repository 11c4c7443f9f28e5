//===- CallResultsInPlace.h - Runtime calls writing outputs -----*- C++ -*-===//
#ifndef KILN_CODEGEN_CALLRESULTSINPLACE_H
#define KILN_CODEGEN_CALLRESULTSINPLACE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::kiln {

/// A runtime kernel call (GEMM, attention, normalization) writes a fresh
/// buffer, and a model output that is that buffer, reshaped, was then copied
/// into the caller's output argument: GPT-2's logits, 25 MB at sequence 128.
/// Where the output argument has the identity layout and the buffer reaches
/// it through reshapes alone, the call writes the argument instead, viewed
/// in the buffer's shape, and the copy goes.
void writeCallResultsInPlace(func::FuncOp func);

} // namespace mlir::kiln

#endif
