//===- ShapeFromData.h - Shape operands known only at run time --*- C++ -*-===//
//
// The paths the shape converters (Shape.cpp) take when a shape operand
// depends on tensor data: each reads the operand at run time, applies the
// op's rules and binds the resulting extents to data symbols
// (DataScalars.h). Each returns the result's dims, or an error naming the
// node.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_OPS_SHAPEFROMDATA_H
#define KILN_COMPILER_ONNX_OPS_SHAPEFROMDATA_H

#include "compiler/onnx/ImportContext.h"

namespace mlir::kiln::onnx_import {

/// Extents read from input `i` (ConstantOfShape's shape): each must be >= 0.
mlir::FailureOr<SmallVector<AffineExpr>>
extentsFromData(NodeContext &nc, size_t i, llvm::StringRef what);

/// Reshape's target from its shape input, with ONNX's 0 (copy the input's
/// extent, unless allowzero) and -1 (infer) entries.
mlir::FailureOr<SmallVector<AffineExpr>> reshapeTargetFromData(NodeContext &nc);

/// Expand's result from its shape input, broadcast against the input.
mlir::FailureOr<SmallVector<AffineExpr>> expandTargetFromData(NodeContext &nc);

/// Squeeze's or Unsqueeze's result from axes read at run time.
mlir::FailureOr<SmallVector<AffineExpr>> squeezeFromData(NodeContext &nc);
mlir::FailureOr<SmallVector<AffineExpr>> unsqueezeFromData(NodeContext &nc);

/// One dim's slice from a start and an end, either of which may be a value
/// read at run time (a null AffineExpr then; `startData`/`endData` hold the
/// scalars): its first index and its extent, clamped as ONNX Slice does.
struct SliceBounds {
  AffineExpr offset, size;
};
mlir::FailureOr<SliceBounds>
sliceBoundsFromData(NodeContext &nc, AffineExpr dim, AffineExpr start,
                    mlir::Value startData, AffineExpr end, mlir::Value endData,
                    int64_t step, int64_t axis);

/// Slice whose axes or steps depend on tensor data: converts the node, one
/// kiln.gather per dim that may be sliced.
mlir::LogicalResult convertSliceFromData(NodeContext &nc);

/// A Reduce* node whose axes are read at run time: for each dim that may be
/// reduced, `reduceDim(x, dims, d)` (a reduction over d that keeps it as 1)
/// is selected when d is among the axes, and the dim sliced to its new
/// extent; without keepdims the reduced dims are then dropped.
mlir::LogicalResult convertReduceFromData(
    NodeContext &nc,
    llvm::function_ref<mlir::Value(mlir::Value, llvm::ArrayRef<AffineExpr>,
                                   int64_t)>
        reduceDim);

/// Split's part sizes from its split input; they must sum to `dim`.
mlir::FailureOr<SmallVector<AffineExpr>> splitPartsFromData(NodeContext &nc,
                                                            AffineExpr dim);

/// Tile's repeats from its input; each must be >= 0.
mlir::FailureOr<SmallVector<AffineExpr>> tileRepeatsFromData(NodeContext &nc);

/// Range whose start, limit or delta depends on tensor data: converts the
/// node (its length is bound to a data symbol).
mlir::LogicalResult convertRangeFromData(NodeContext &nc);

} // namespace mlir::kiln::onnx_import

#endif
