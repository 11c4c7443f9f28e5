//===- LoweringUtils.h - Helpers for lowering kiln to linalg ----*- C++ -*-===//
//
// Shared by every target: kiln ops lower to linalg on tensors the same way
// for CPU and CUDA; the targets differ after bufferization.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_LOWERINGUTILS_H
#define KILN_CODEGEN_LOWERINGUTILS_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir::kiln {

/// Index value of a symbolic expression, given the symbols' index values.
Value materializeSymExpr(OpBuilder &b, Location loc, AffineExpr e,
                         ArrayRef<Value> symbols);
/// Extents of a shape map: static extents as attributes, symbolic ones
/// computed from `symbols`.
SmallVector<OpFoldResult> materializeShape(OpBuilder &b, Location loc,
                                           AffineMap map,
                                           ArrayRef<Value> symbols);
/// Scalar constant of `type` (float or integer) with value `v`.
Value buildArithConstant(OpBuilder &b, Location loc, Type type, double v);

/// The product of `sizes`, folded where constant.
OpFoldResult productOf(OpBuilder &b, Location loc,
                       ArrayRef<OpFoldResult> sizes);
/// The tensor type of `sizes` (dynamic where not constant).
RankedTensorType tensorTypeOf(ArrayRef<OpFoldResult> sizes, Type elem);

} // namespace mlir::kiln

#endif
