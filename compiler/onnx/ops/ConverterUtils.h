//===- ConverterUtils.h - Helpers shared by the op converters ---*- C++ -*-===//
#ifndef KILN_COMPILER_ONNX_OPS_CONVERTERUTILS_H
#define KILN_COMPILER_ONNX_OPS_CONVERTERUTILS_H

#include "compiler/onnx/ImportContext.h"
#include "compiler/onnx/OpTable.h"
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"

namespace mlir::kiln::onnx_import {

/// kiln.reshape of `v` to `dims`; `v` itself when both shapes are the same
/// static shape. (Equal types with `?` extents may still differ
/// symbolically, so those are always reshaped.)
inline mlir::Value reshapeTo(NodeContext &nc, mlir::Value v,
                             llvm::ArrayRef<AffineExpr> dims) {
  auto vType = llvm::cast<mlir::RankedTensorType>(v.getType());
  auto type = nc.tensorType(dims, vType.getElementType());
  if (type == vType && type.hasStaticShape())
    return v;
  return mlir::kiln::ReshapeOp::create(
      nc.builder(), nc.loc(), type, v,
      mlir::AffineMapAttr::get(nc.shapeMap(dims)));
}

/// A rank-0 kiln.constant of float type `elem` holding `v`.
inline mlir::Value buildRank0Constant(NodeContext &nc, mlir::Type elem,
                                      double v) {
  auto type = mlir::RankedTensorType::get({}, elem);
  auto attr = mlir::DenseElementsAttr::get(type, mlir::FloatAttr::get(elem, v));
  return mlir::kiln::ConstantOp::create(nc.builder(), nc.loc(), type,
                                        llvm::cast<mlir::ElementsAttr>(attr));
}

/// Product of extents, simplified.
inline AffineExpr product(NodeContext &nc, llvm::ArrayRef<AffineExpr> dims) {
  AffineExpr p = nc.cst(1);
  for (AffineExpr d : dims)
    p = mlir::kiln::symMul(p, d);
  return p;
}

/// Axes from the `axes` attribute (older opsets) or input `inputIndex`
/// (newer opsets); nullopt when neither is given.
inline mlir::FailureOr<std::optional<SmallVector<int64_t>>>
axesFromAttrOrInput(NodeContext &nc, size_t inputIndex, bool fromInput) {
  if (fromInput) {
    if (!nc.hasInput(inputIndex))
      return std::optional<SmallVector<int64_t>>();
    auto axes = nc.requireConstInts(inputIndex, "axes");
    if (mlir::failed(axes))
      return mlir::failure();
    return std::optional<SmallVector<int64_t>>(*axes);
  }
  return nc.getInts("axes");
}

/// Normalizes, sorts and de-duplicates axes for a tensor of `rank`.
inline mlir::FailureOr<SmallVector<int64_t>>
normalizeAxes(NodeContext &nc, llvm::ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    auto n = nc.normalizeAxis(a, rank);
    if (mlir::failed(n))
      return mlir::failure();
    if (llvm::is_contained(out, *n))
      return nc.error() << "axis " << a << " is repeated";
    out.push_back(*n);
  }
  llvm::sort(out);
  return out;
}

/// numpy matmul of two operands with symbolic shapes (kiln.matmul in their
/// element type); 1-D operands are promoted to matrices and the promoted dim
/// dropped from the result. Returns the result and its dims.
mlir::FailureOr<std::pair<mlir::Value, SmallVector<AffineExpr>>>
buildMatMul(NodeContext &nc, mlir::Value a, SmallVector<AffineExpr> ad,
            mlir::Value b, SmallVector<AffineExpr> bd);

} // namespace mlir::kiln::onnx_import

#endif
