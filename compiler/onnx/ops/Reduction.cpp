//===- Reduction.cpp - Reduce*, CumSum, ArgMax/ArgMin and TopK -----------===//
#include "compiler/onnx/ops/ConverterUtils.h"
#include "compiler/onnx/ops/DataScalars.h"
#include "compiler/onnx/ops/ShapeFromData.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

/// `axesInputOpset` is the first opset where axes moved from an attribute to
/// input 1 (13 for ReduceSum, 18 for the others).
template <typename OpT, int axesInputOpset>
static LogicalResult convertReduce(NodeContext &nc) {
  if (nc.opset() >= axesInputOpset && nc.hasInput(1) && !nc.constInts(1) &&
      staticNumElements(nc.dims(1)) != 0)
    return convertReduceFromData(
        nc, [&](Value x, ArrayRef<AffineExpr> dims, int64_t dim) -> Value {
          SmallVector<AffineExpr> out(dims);
          out[dim] = nc.cst(1);
          return OpT::create(nc.builder(), nc.loc(),
                             nc.tensorType(out, nc.elementType(0)), x,
                             nc.builder().getDenseI64ArrayAttr({dim}),
                             nc.builder().getBoolAttr(true));
        });
  // An empty axes input says all (or none, with noop_with_empty_axes)
  // whatever it was computed from.
  auto axes = nc.opset() >= axesInputOpset && nc.hasInput(1) &&
                      staticNumElements(nc.dims(1)) == 0
                  ? FailureOr<std::optional<SmallVector<int64_t>>>(
                        SmallVector<int64_t>())
                  : axesFromAttrOrInput(nc, 1, nc.opset() >= axesInputOpset);
  if (failed(axes))
    return failure();
  int64_t rank = nc.rank(0);
  bool keepdims = nc.getInt("keepdims", 1) != 0;
  SmallVector<int64_t> norm;
  if (*axes && !(*axes)->empty()) {
    auto n = normalizeAxes(nc, **axes, rank);
    if (failed(n))
      return failure();
    norm = *n;
  } else if (nc.getInt("noop_with_empty_axes", 0)) {
    nc.forward(0, 0);
    return success();
  } else {
    for (int64_t i = 0; i < rank; ++i)
      norm.push_back(i);
  }
  SmallVector<AffineExpr> out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!llvm::is_contained(norm, i))
      out.push_back(nc.dims(0)[i]);
    else if (keepdims)
      out.push_back(nc.cst(1));
  }
  Value x = nc.input(0);
  Value r =
      OpT::create(nc.builder(), nc.loc(), nc.tensorType(out, nc.elementType(0)),
                  x, nc.builder().getDenseI64ArrayAttr(norm),
                  nc.builder().getBoolAttr(keepdims));
  nc.setOutput(0, r, out);
  return success();
}

/// CumSum along a constant axis is one kiln.cumsum. An axis given at run time
/// (as the ONNX backend tests give it) becomes one kiln.cumsum per axis and
/// a chain of selects on the axis value: the result's shape does not depend
/// on it.
static LogicalResult convertCumSum(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  if (rank == 0)
    return nc.error() << "expects an input of rank 1 or more";
  if (nc.rank(1) > 1 || staticNumElements(nc.dims(1)) != 1)
    return nc.error() << "axis must be a scalar or a 1-element tensor, got "
                      << nc.formatDims(nc.dims(1));
  OpBuilder &b = nc.builder();
  bool exclusive = nc.getInt("exclusive", 0) != 0;
  bool reverse = nc.getInt("reverse", 0) != 0;
  Value x = nc.input(0);
  auto cumsum = [&](int64_t axis) {
    return (Value)k::CumSumOp::create(
        b, nc.loc(), x.getType(), x, b.getI64IntegerAttr(axis),
        b.getBoolAttr(exclusive), b.getBoolAttr(reverse));
  };
  if (auto axis = nc.constInts(1)) {
    auto a = nc.normalizeAxis((*axis)[0], rank);
    if (failed(a))
      return failure();
    nc.setOutput(0, cumsum(*a), nc.dims(0));
    return success();
  }
  // select(axis == 0 or axis == -rank, cumsum(0), select(axis == 1 ..., ...))
  Value axis = reshapeTo(nc, nc.input(1), {});
  auto axisType = cast<RankedTensorType>(axis.getType());
  auto i1 = nc.tensorType({}, b.getI1Type());
  auto equals = [&](int64_t v) {
    auto c = k::ConstantOp::create(
        b, nc.loc(), axisType,
        cast<ElementsAttr>(DenseElementsAttr::get(
            axisType, b.getIntegerAttr(axisType.getElementType(), v))));
    return (Value)k::EqualOp::create(b, nc.loc(), i1, axis, c);
  };
  Value result = cumsum(rank - 1);
  for (int64_t a = rank - 2; a >= 0; --a) {
    Value is = k::OrOp::create(b, nc.loc(), i1, equals(a), equals(a - rank));
    result =
        k::WhereOp::create(b, nc.loc(), x.getType(), is, cumsum(a), result);
  }
  nc.setOutput(0, result, nc.dims(0));
  return success();
}

/// ArgMax and ArgMin (select_last_index from opset 12).
template <typename OpT> static LogicalResult convertArgReduce(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  if (rank == 0)
    return nc.error() << "expects an input of rank 1 or more";
  auto axis = nc.normalizeAxis(nc.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  bool keepdims = nc.getInt("keepdims", 1) != 0;
  bool last = nc.getInt("select_last_index", 0) != 0;
  SmallVector<AffineExpr> out(nc.dims(0));
  if (k::symConstant(out[*axis]) == 0)
    return nc.error() << "cannot reduce an axis of extent 0";
  if (keepdims)
    out[*axis] = nc.cst(1);
  else
    out.erase(out.begin() + *axis);
  OpBuilder &b = nc.builder();
  Value x = nc.input(0);
  nc.setOutput(0,
               OpT::create(b, nc.loc(), nc.tensorType(out, b.getI64Type()), x,
                           b.getI64IntegerAttr(*axis), b.getBoolAttr(keepdims),
                           b.getBoolAttr(last)),
               out);
  return success();
}

/// TopK's `k`: an attribute before opset 10, input 1 since. A `k` known
/// only from tensor data is read at run time and bound to a symbol, checked
/// to lie in [0, extent of the axis].
static FailureOr<AffineExpr> topKCount(NodeContext &nc, AffineExpr n) {
  if (nc.opset() < 10)
    return nc.cst(nc.getInt("k", 0));
  if (staticNumElements(nc.dims(1)) != 1)
    return nc.error() << "k must hold one value, got shape "
                      << nc.formatDims(nc.dims(1));
  DataScalars d(nc);
  std::optional<SmallVector<AffineExpr>> exprs;
  SmallVector<Value> scalars;
  if (failed(d.valuesOrElements(1, "k", exprs, scalars)))
    return failure();
  if (exprs)
    return (*exprs)[0];
  Value k = scalars[0];
  return d.bind(
      {k}, d.logicalAnd(d.ge(k, d.constant(0)), d.le(k, d.extent(n))), {"k"},
      "k read at run time from '" + nc.node().input(1) +
          "' is negative or exceeds the axis' extent " + nc.formatExtent(n))[0];
}

static LogicalResult convertTopK(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  if (rank == 0)
    return nc.error() << "expects an input of rank 1 or more";
  auto axis = nc.normalizeAxis(nc.getInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  AffineExpr n = nc.dims(0)[*axis];
  auto k = topKCount(nc, n);
  if (failed(k))
    return failure();
  auto kConst = k::symConstant(*k), extent = k::symConstant(n);
  if (kConst && (*kConst < 0 || (extent && *kConst > *extent)))
    return nc.error() << "k = " << *kConst << " is out of range for extent '"
                      << nc.formatExtent(n) << "'";
  SmallVector<AffineExpr> out(nc.dims(0));
  out[*axis] = *k;
  OpBuilder &b = nc.builder();
  Value x = nc.input(0);
  auto topk = k::TopKOp::create(
      b, nc.loc(), nc.tensorType(out, nc.elementType(0)),
      nc.tensorType(out, b.getI64Type()), x, b.getI64IntegerAttr(*axis),
      AffineMapAttr::get(nc.shapeMap({*k})),
      b.getBoolAttr(nc.getInt("largest", 1) != 0));
  nc.setOutput(0, topk.getValues(), out);
  if (nc.hasOutput(1))
    nc.setOutput(1, topk.getIndices(), out);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::reductionConverters() {
  constexpr int M = kMaxSupportedOpset;
  static const OpConverter rows[] = {
      {"", "ArgMax", 1, M, convertArgReduce<k::ArgMaxOp>, "Reduction"},
      {"", "ArgMin", 1, M, convertArgReduce<k::ArgMinOp>, "Reduction"},
      {"", "CumSum", 11, M, convertCumSum, "Reduction"},
      {"", "ReduceMax", 1, M, convertReduce<k::ReduceMaxOp, 18>, "Reduction"},
      {"", "ReduceMean", 1, M, convertReduce<k::ReduceMeanOp, 18>, "Reduction"},
      {"", "ReduceMin", 1, M, convertReduce<k::ReduceMinOp, 18>, "Reduction"},
      {"", "ReduceProd", 1, M, convertReduce<k::ReduceProdOp, 18>, "Reduction"},
      {"", "ReduceSum", 1, M, convertReduce<k::ReduceSumOp, 13>, "Reduction"},
      {"", "TopK", 1, M, convertTopK, "Reduction"},
  };
  return rows;
}
