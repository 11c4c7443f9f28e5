//===- Reduction.cpp - Reduce* ONNX ops -----------------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

/// `axesInputOpset` is the first opset where axes moved from an attribute to
/// input 1 (13 for ReduceSum, 18 for the others).
template <typename OpT, int axesInputOpset>
static LogicalResult convertReduce(NodeContext &nc) {
  auto axes = axesFromAttrOrInput(nc, 1, nc.opset() >= axesInputOpset);
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

ArrayRef<OpConverter> kiln::onnx_import::reductionConverters() {
  constexpr int M = kMaxSupportedOpset;
  static const OpConverter rows[] = {
      {"", "ReduceMax", 1, M, convertReduce<k::ReduceMaxOp, 18>, "Reduction"},
      {"", "ReduceMean", 1, M, convertReduce<k::ReduceMeanOp, 18>, "Reduction"},
      {"", "ReduceMin", 1, M, convertReduce<k::ReduceMinOp, 18>, "Reduction"},
      {"", "ReduceProd", 1, M, convertReduce<k::ReduceProdOp, 18>, "Reduction"},
      {"", "ReduceSum", 1, M, convertReduce<k::ReduceSumOp, 13>, "Reduction"},
  };
  return rows;
}
