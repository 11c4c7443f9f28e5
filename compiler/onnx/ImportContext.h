//===- ImportContext.h - State shared by the ONNX op converters -*- C++ -*-===//
//
// The importer walks the ONNX graph once, in topological order, and hands
// each node to the converter registered for its (domain, op, opset). A
// converter reads its inputs through NodeContext and records its outputs.
//
// Besides an MLIR value, the importer tracks for every ONNX value its
// symbolic extents and, for small integer tensors, its contents as symbolic
// expressions. That is how exporter shape arithmetic
// (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) folds into a kiln.reshape
// shape map instead of running at inference time. Values known only
// symbolically are materialized lazily, when a converter asks for a tensor.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_IMPORTCONTEXT_H
#define KILN_COMPILER_ONNX_IMPORTCONTEXT_H

#include "compiler/onnx/OptionNames.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include <optional>
#include <string>

namespace onnx {
class NodeProto;
class AttributeProto;
class TensorProto;
} // namespace onnx

namespace mlir::kiln::onnx_import {

using llvm::SmallVector;
using mlir::AffineExpr;

/// Everything the importer knows about one ONNX value.
struct ValueInfo {
  mlir::Type elementType;
  SmallVector<AffineExpr> dims;
  /// The MLIR value, once materialized.
  mlir::Value tensor;
  /// Row-major contents of a small integer tensor, as symbolic expressions.
  std::optional<SmallVector<AffineExpr>> values;
  /// Contents of a constant tensor (initializer or Constant node).
  mlir::ElementsAttr constant;
};

class Importer;

/// The view a converter has of one node.
class NodeContext {
public:
  NodeContext(Importer &importer, const onnx::NodeProto &node, int64_t opset);

  mlir::OpBuilder &builder();
  mlir::MLIRContext *ctx();
  mlir::Location loc() const { return loc_; }
  const onnx::NodeProto &node() const { return node_; }
  int64_t opset() const { return opset_; }
  llvm::StringRef opType() const;
  llvm::StringRef name() const;

  // Inputs. Optional inputs may be absent or named "".
  size_t numInputs() const;
  bool hasInput(size_t i) const;
  const ValueInfo &info(size_t i) const;
  llvm::ArrayRef<AffineExpr> dims(size_t i) const { return info(i).dims; }
  int64_t rank(size_t i) const { return info(i).dims.size(); }
  mlir::Type elementType(size_t i) const { return info(i).elementType; }
  /// The input as a tensor value, materializing symbolic contents if needed.
  mlir::Value input(size_t i);
  /// Known contents as symbolic expressions (small integer tensors only).
  const std::optional<SmallVector<AffineExpr>> &values(size_t i) const {
    return info(i).values;
  }
  /// Known contents when all are integer constants.
  std::optional<SmallVector<int64_t>> constInts(size_t i) const;
  /// Known contents of a floating-point or integer scalar constant.
  std::optional<double> constScalar(size_t i) const;
  /// Converter-required input that must be known at compile time.
  mlir::FailureOr<SmallVector<AffineExpr>> requireValues(size_t i,
                                                         llvm::StringRef what);
  mlir::FailureOr<SmallVector<int64_t>> requireConstInts(size_t i,
                                                         llvm::StringRef what);

  // Attributes.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t getInt(llvm::StringRef name, int64_t def) const;
  float getFloat(llvm::StringRef name, float def) const;
  std::string getString(llvm::StringRef name, llvm::StringRef def) const;
  std::optional<SmallVector<int64_t>> getInts(llvm::StringRef name) const;
  /// The `value`-style TENSOR attribute, decoded.
  mlir::FailureOr<mlir::ElementsAttr> getTensor(llvm::StringRef name);

  // Outputs.
  size_t numOutputs() const;
  bool hasOutput(size_t i) const;
  void setOutput(size_t i, mlir::Value v, llvm::ArrayRef<AffineExpr> dims);
  /// An output known only symbolically (shape arithmetic); materialized if a
  /// consumer needs a tensor.
  void setOutputValues(size_t i, mlir::Type elementType,
                       llvm::ArrayRef<AffineExpr> dims,
                       llvm::ArrayRef<AffineExpr> values);
  void setOutputConstant(size_t i, mlir::ElementsAttr value);
  /// Forwards input `in` unchanged to output `out` (Identity and friends).
  void forward(size_t out, size_t in);

  // Diagnostics: every message names the node, the op and the opset.
  mlir::InFlightDiagnostic error();
  /// Whether `e` is provably above `bound`: always, or once its symbols
  /// are taken to be non-zero (recorded: those may not be 0 at run time).
  bool provablyAbove(AffineExpr e, int64_t bound);
  /// How messages name the caller's options ("--shape" in kilnc).
  const OptionNames &optionNames() const;
  /// Binds fresh symbols, named `<node>.<names[i]>`, to the elements of
  /// `values` (1-D i64, computed from tensor data) with a kiln.bind_symbols
  /// and returns them. `valid` (a tensor<i1>) false at run time stops the
  /// run with `check`, prefixed with the node (ops/DataScalars.h).
  SmallVector<AffineExpr> bindDataSymbols(mlir::Value values, mlir::Value valid,
                                          llvm::ArrayRef<std::string> names,
                                          llvm::StringRef check);

  // Shapes.
  unsigned numSymbols() const;
  AffineExpr cst(int64_t v);
  mlir::RankedTensorType tensorType(llvm::ArrayRef<AffineExpr> dims,
                                    mlir::Type elementType);
  mlir::AffineMap shapeMap(llvm::ArrayRef<AffineExpr> dims);
  /// ONNX axis in [-rank, rank) to [0, rank), or an error.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                         llvm::StringRef what = "axis");
  /// A symbolic extent or shape for diagnostics: "seq + past_seq",
  /// "[batch, seq + past_seq, 64]".
  std::string formatExtent(AffineExpr e) const;
  std::string formatDims(llvm::ArrayRef<AffineExpr> dims) const;
  /// numpy broadcast of two symbolic shapes; errors on extents that cannot
  /// be proven compatible.
  mlir::FailureOr<SmallVector<AffineExpr>>
  broadcast(llvm::ArrayRef<AffineExpr> a, llvm::ArrayRef<AffineExpr> b);

private:
  Importer &importer_;
  const onnx::NodeProto &node_;
  int64_t opset_;
  mlir::Location loc_;
};

/// How diagnostics name a node: `node 'name'`, or for an unnamed node (as
/// many exporters and the ONNX backend tests write them) `unnamed node
/// producing 'out'`.
std::string describeNode(const onnx::NodeProto &node);

/// Number of elements of a symbolic shape when static (and it fits int64).
std::optional<int64_t> staticNumElements(llvm::ArrayRef<AffineExpr> dims);

/// ONNX TensorProto.DataType -> MLIR element type, or null for a type Kiln
/// does not take (dialects/kiln/Dtype.h).
mlir::Type elementTypeFromOnnx(mlir::MLIRContext *ctx, int32_t dtype);
std::string onnxDtypeName(int32_t dtype);

} // namespace mlir::kiln::onnx_import

#endif
