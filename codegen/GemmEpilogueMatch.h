//===- GemmEpilogueMatch.h - kiln.linear's GEMM epilogue --------*- C++ -*-===//
//
// kiln.linear lowers to a linalg.matmul followed by one generic marked
// kEpilogueAttr (bias add, activation). The GEMM calls of both targets
// absorb that generic: the CPU's packed kernel applies it per output tile,
// cuBLASLt in its epilogue. This finds it on buffers and removes what the
// absorbed pair leaves behind.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_GEMMEPILOGUEMATCH_H
#define KILN_CODEGEN_GEMMEPILOGUEMATCH_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::kiln {

/// What the epilogue generic of a GEMM computes.
struct GemmEpilogue {
  linalg::GenericOp generic;
  /// kiln.linear's activation: none, relu, gelu, gelu_tanh or silu.
  StringRef activation;
  /// The 1-D bias indexed by column, or null.
  Value bias;
  /// Where the epilogue writes; the kernel writes there instead of c.
  Value output;
};

/// kiln.linear's epilogue generic reading the whole result `c` of `mm` (a
/// 2-D matmul on buffers whose output is zeroed by `zeroing`): c with the
/// identity map and, when the attribute says so, a 1-D bias indexed by
/// column, into a 2-D buffer, all f32, that is none of the operands. Only
/// pure ops and allocations may lie between, and nothing else may read c, so
/// a kernel can write the epilogue's output instead of c.
std::optional<GemmEpilogue> findGemmEpilogue(Operation *mm, Value c,
                                             Operation *zeroing);

/// Erases `mm` and `epilogue` once a kernel call does both, and c's buffer
/// when nothing but its dims is left reading it.
void eraseGemmAndEpilogue(Operation *mm, const GemmEpilogue &epilogue, Value c);

} // namespace mlir::kiln

#endif
