//===- GemmZeroing.h - Finding the zeroing of a GEMM's output ---*- C++ -*-===//
//
// kiln.matmul lowers to a zero fill of the output followed by an
// accumulating linalg.matmul. The GEMM kernels of both targets overwrite
// their output instead, which makes that zeroing dead: this finds it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_GEMMZEROING_H
#define KILN_CODEGEN_GEMMZEROING_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

namespace mlir::kiln {

/// How `out` gets its zeros for `mm` (a matmul on buffers): a zero fill of
/// it, or a copy into it from a buffer that only holds zeros, right before
/// `mm` (only pure ops between); or `mm` itself when `out` already holds
/// zeros. Null when none, i.e. when `mm` must accumulate.
Operation *zeroingFor(Operation *mm, Value out);

} // namespace mlir::kiln

#endif
