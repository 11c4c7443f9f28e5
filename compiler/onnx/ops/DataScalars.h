//===- DataScalars.h - Shape values read from tensor data -------*- C++ -*-===//
//
// A shape operand that depends on tensor data (a Reshape target computed
// from a graph input, Slice bounds that are graph inputs) cannot fold into
// symbolic extents. Its converter reads the operand's elements as i64
// scalars (rank-0 kiln tensors), applies the op's rules to them (clamping,
// Reshape's 0 and -1, broadcasting) with kiln arithmetic, and binds the
// results to fresh symbols with kiln.bind_symbols. From there on the shape
// is symbolic like any other; the artifact evaluates the bound values before
// it runs the model (docs/runtime-shapes.md).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_OPS_DATASCALARS_H
#define KILN_COMPILER_ONNX_OPS_DATASCALARS_H

#include "compiler/onnx/ImportContext.h"

namespace mlir::kiln::onnx_import {

/// Builds i64 scalar arithmetic on tensor data at the node being converted.
class DataScalars {
public:
  explicit DataScalars(NodeContext &nc) : nc(nc) {}

  /// Every element of input `i` (0-D or 1-D, of static length, integer) as
  /// an i64 scalar; an error naming `what` otherwise.
  mlir::FailureOr<SmallVector<mlir::Value>> elements(size_t i,
                                                     llvm::StringRef what);
  /// Input `i`'s known values when there are any, else its elements read at
  /// run time (`exprs` or `scalars` is filled).
  mlir::LogicalResult
  valuesOrElements(size_t i, llvm::StringRef what,
                   std::optional<SmallVector<AffineExpr>> &exprs,
                   SmallVector<mlir::Value> &scalars);

  /// Input `i`'s elements as scalars: its known values, or read at run time.
  mlir::FailureOr<SmallVector<mlir::Value>> scalars(size_t i,
                                                    llvm::StringRef what);
  mlir::Value constant(int64_t v);
  /// A symbolic extent as a scalar.
  mlir::Value extent(AffineExpr e);

  mlir::Value add(mlir::Value a, mlir::Value b);
  mlir::Value sub(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, mlir::Value b);
  /// Truncating division (C's), as ONNX Div on integers.
  mlir::Value div(mlir::Value a, mlir::Value b);
  mlir::Value min(mlir::Value a, mlir::Value b);
  mlir::Value max(mlir::Value a, mlir::Value b);
  mlir::Value clamp(mlir::Value v, mlir::Value lo, mlir::Value hi) {
    return min(max(v, lo), hi);
  }
  mlir::Value select(mlir::Value cond, mlir::Value a, mlir::Value b);

  mlir::Value eq(mlir::Value a, mlir::Value b);
  mlir::Value lt(mlir::Value a, mlir::Value b);
  mlir::Value le(mlir::Value a, mlir::Value b);
  mlir::Value ge(mlir::Value a, mlir::Value b) { return le(b, a); }
  mlir::Value gt(mlir::Value a, mlir::Value b) { return lt(b, a); }
  mlir::Value ne(mlir::Value a, mlir::Value b) { return logicalNot(eq(a, b)); }
  mlir::Value logicalAnd(mlir::Value a, mlir::Value b);
  mlir::Value logicalOr(mlir::Value a, mlir::Value b);
  mlir::Value logicalNot(mlir::Value a);
  mlir::Value truth(bool v);
  /// The conjunction of `conds`; true when empty.
  mlir::Value all(llvm::ArrayRef<mlir::Value> conds);

  /// Binds one fresh symbol per scalar of `values`, named `<node>.<name>`,
  /// and returns them. When `valid` is false at run time the run stops with
  /// `check` (prefixed with the node) before the model runs.
  SmallVector<AffineExpr> bind(llvm::ArrayRef<mlir::Value> values,
                               mlir::Value valid,
                               llvm::ArrayRef<std::string> names,
                               llvm::StringRef check);

  /// The scalars as a 1-D i64 tensor.
  mlir::Value vector(llvm::ArrayRef<mlir::Value> scalars);

private:
  NodeContext &nc;
  mlir::RankedTensorType scalarType(mlir::Type elem);
};

} // namespace mlir::kiln::onnx_import

#endif
