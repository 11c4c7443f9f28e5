//===- MatMul.cpp - Matrix multiplication ONNX ops ------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

FailureOr<std::pair<Value, SmallVector<AffineExpr>>>
kiln::onnx_import::buildMatMul(NodeContext &nc, Value a,
                               SmallVector<AffineExpr> ad, Value b,
                               SmallVector<AffineExpr> bd) {
  bool vecA = ad.size() == 1, vecB = bd.size() == 1;
  if (ad.empty() || bd.empty())
    return nc.error() << "operands must have rank >= 1, got A "
                      << nc.formatDims(ad) << " and B " << nc.formatDims(bd);
  std::string shapes = "A " + nc.formatDims(ad) + " and B " + nc.formatDims(bd);
  if (vecA) {
    ad.insert(ad.begin(), nc.cst(1));
    a = reshapeTo(nc, a, ad);
  }
  if (vecB) {
    bd.push_back(nc.cst(1));
    b = reshapeTo(nc, b, bd);
  }
  AffineExpr ka = ad.back(), kb = bd[bd.size() - 2];
  if (!k::symEqual(ka, kb))
    return nc.error() << "inner dimensions differ: " << shapes << " contract '"
                      << nc.formatExtent(ka) << "' with '"
                      << nc.formatExtent(kb) << "'";
  auto batch =
      nc.broadcast(ArrayRef(ad).drop_back(2), ArrayRef(bd).drop_back(2));
  if (failed(batch))
    return failure();
  SmallVector<AffineExpr> out = *batch;
  out.push_back(ad[ad.size() - 2]);
  out.push_back(bd.back());
  Type elem = cast<RankedTensorType>(a.getType()).getElementType();
  Value r = k::MatMulOp::create(nc.builder(), nc.loc(),
                                nc.tensorType(out, elem), a, b);
  if (vecA || vecB) {
    SmallVector<AffineExpr> squeezed(out.begin(), out.end() - 2);
    if (!vecA)
      squeezed.push_back(out[out.size() - 2]);
    if (!vecB)
      squeezed.push_back(out.back());
    r = reshapeTo(nc, r, squeezed);
    out = squeezed;
  }
  return std::make_pair(r, out);
}

static LogicalResult convertMatMul(NodeContext &nc) {
  if (nc.elementType(0) != nc.elementType(1))
    return nc.error() << "operand types differ: " << nc.elementType(0) << " vs "
                      << nc.elementType(1);
  if (!isa<FloatType>(nc.elementType(0)))
    return nc.error() << "MatMul on " << nc.elementType(0)
                      << " is not supported (use MatMulInteger)";
  auto r = buildMatMul(nc, nc.input(0), SmallVector<AffineExpr>(nc.dims(0)),
                       nc.input(1), SmallVector<AffineExpr>(nc.dims(1)));
  if (failed(r))
    return failure();
  nc.setOutput(0, r->first, r->second);
  return success();
}

static Value transpose2D(NodeContext &nc, Value v,
                         SmallVector<AffineExpr> &dims) {
  std::swap(dims[0], dims[1]);
  auto type =
      nc.tensorType(dims, cast<RankedTensorType>(v.getType()).getElementType());
  return k::TransposeOp::create(nc.builder(), nc.loc(), type, v,
                                nc.builder().getDenseI64ArrayAttr({1, 0}));
}

/// Y = alpha * A' * B' + beta * C.
static LogicalResult convertGemm(NodeContext &nc) {
  if (nc.rank(0) != 2 || nc.rank(1) != 2)
    return nc.error() << "A and B must be 2-D, got A "
                      << nc.formatDims(nc.dims(0)) << " and B "
                      << nc.formatDims(nc.dims(1));
  Type elem = nc.elementType(0);
  if (!isa<FloatType>(elem))
    return nc.error() << "Gemm on " << elem << " is not supported";
  SmallVector<AffineExpr> ad(nc.dims(0)), bd(nc.dims(1));
  Value a = nc.input(0), b = nc.input(1);
  if (nc.getInt("transA", 0))
    a = transpose2D(nc, a, ad);
  if (nc.getInt("transB", 0))
    b = transpose2D(nc, b, bd);
  auto mm = buildMatMul(nc, a, ad, b, bd);
  if (failed(mm))
    return failure();
  auto [y, dims] = *mm;
  auto type = nc.tensorType(dims, elem);
  float alpha = nc.getFloat("alpha", 1.0f), beta = nc.getFloat("beta", 1.0f);
  if (alpha != 1.0f)
    y = k::MulOp::create(nc.builder(), nc.loc(), type, y,
                         buildRank0Constant(nc, elem, alpha));
  if (nc.hasInput(2) && beta != 0.0f) {
    auto out = nc.broadcast(dims, nc.dims(2));
    if (failed(out))
      return failure();
    if (out->size() != 2 || !k::symEqual((*out)[0], dims[0]) ||
        !k::symEqual((*out)[1], dims[1]))
      return nc.error() << "C " << nc.formatDims(nc.dims(2))
                        << " does not broadcast to the result shape "
                        << nc.formatDims(dims);
    Value c = nc.input(2);
    if (beta != 1.0f)
      c = k::MulOp::create(nc.builder(), nc.loc(), c.getType(), c,
                           buildRank0Constant(nc, elem, beta));
    y = k::AddOp::create(nc.builder(), nc.loc(), type, y, c);
  }
  nc.setOutput(0, y, dims);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::matmulConverters() {
  static const OpConverter rows[] = {
      {"", "Gemm", 7, kMaxSupportedOpset, convertGemm, "MatMul"},
      {"", "MatMul", 1, kMaxSupportedOpset, convertMatMul, "MatMul"},
  };
  return rows;
}
