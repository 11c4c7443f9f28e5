//===- Normalization.cpp - LayerNorm and softmax ONNX ops -----------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

/// The optional Mean and InvStdDev outputs of LayerNormalization: f32
/// statistics over the axes [axis, rank), kept as extents of 1.
static LogicalResult buildLayerNormStatistics(NodeContext &nc, int64_t axis,
                                              float epsilon) {
  if (int64_t stash = nc.getInt("stash_type", 1); stash != 1)
    return nc.error() << "stash_type " << stash
                      << " is not supported (only 1, float32)";
  OpBuilder &b = nc.builder();
  Location loc = nc.loc();
  Type f32 = b.getF32Type();
  ArrayRef<AffineExpr> dims = nc.dims(0);
  int64_t rank = dims.size();
  Value x = nc.input(0);
  auto fullType = nc.tensorType(dims, f32);
  if (nc.elementType(0) != f32)
    x = k::CastOp::create(b, loc, fullType, x);
  SmallVector<int64_t> axes;
  SmallVector<AffineExpr> statDims(dims.take_front(axis));
  for (int64_t i = axis; i < rank; ++i) {
    axes.push_back(i);
    statDims.push_back(nc.cst(1));
  }
  auto statType = nc.tensorType(statDims, f32);
  auto axesAttr = b.getDenseI64ArrayAttr(axes);
  Value mean = k::ReduceMeanOp::create(b, loc, statType, x, axesAttr,
                                       b.getBoolAttr(true));
  Value dev = k::SubOp::create(b, loc, fullType, x, mean);
  Value sq = k::MulOp::create(b, loc, fullType, dev, dev);
  Value var = k::ReduceMeanOp::create(b, loc, statType, sq, axesAttr,
                                      b.getBoolAttr(true));
  auto scalarType = RankedTensorType::get({}, f32);
  Value eps = k::ConstantOp::create(
      b, loc, scalarType,
      cast<ElementsAttr>(DenseElementsAttr::get(scalarType, epsilon)));
  Value invStd = k::RsqrtOp::create(
      b, loc, statType, k::AddOp::create(b, loc, statType, var, eps));
  nc.setOutput(1, mean, statDims);
  nc.setOutput(2, invStd, statDims);
  return success();
}

static LogicalResult convertLayerNorm(NodeContext &nc) {
  if (!isa<FloatType>(nc.elementType(0)))
    return nc.error() << "input must be floating point";
  auto axis = nc.normalizeAxis(nc.getInt("axis", -1), nc.rank(0));
  if (failed(axis))
    return failure();
  // Scale and bias broadcast to the normalized shape, never beyond it.
  ArrayRef<AffineExpr> normDims = nc.dims(0).drop_front(*axis);
  for (size_t i : {1, 2}) {
    if (!nc.hasInput(i))
      continue;
    ArrayRef<AffineExpr> pd = nc.dims(i);
    bool ok = pd.size() <= normDims.size();
    for (size_t j = 0; ok && j < pd.size(); ++j) {
      AffineExpr p = pd[pd.size() - 1 - j];
      ok = k::symConstant(p) == 1 ||
           k::symEqual(p, normDims[normDims.size() - 1 - j]);
    }
    if (!ok)
      return nc.error() << (i == 1 ? "scale " : "bias ") << nc.formatDims(pd)
                        << " does not broadcast to the normalized shape "
                        << nc.formatDims(normDims) << " (axis " << *axis << ")";
  }
  if ((nc.hasOutput(1) || nc.hasOutput(2)) &&
      failed(
          buildLayerNormStatistics(nc, *axis, nc.getFloat("epsilon", 1e-5f))))
    return failure();
  Value x = nc.input(0), scale = nc.input(1);
  Value bias = nc.hasInput(2) ? nc.input(2) : Value();
  Value r = k::LayerNormOp::create(
      nc.builder(), nc.loc(), x.getType(), x, scale, bias,
      nc.builder().getI64IntegerAttr(*axis),
      nc.builder().getF32FloatAttr(nc.getFloat("epsilon", 1e-5f)));
  nc.setOutput(0, r, nc.dims(0));
  return success();
}

/// RMSNormalization (opset 23): kiln.rms_norm for the last axis and a 1-D
/// scale (statistics in f32, as stash_type 1 asks); otherwise its function
/// body, x * rsqrt(mean(x * x over [axis, rank)) + epsilon) * scale, in f32.
static LogicalResult convertRMSNorm(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  auto axis = nc.normalizeAxis(nc.getInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  Type elem = nc.elementType(0);
  if (!isa<FloatType>(elem) || nc.elementType(1) != elem)
    return nc.error() << "expects float input and scale of one type, got "
                      << elem << " and " << nc.elementType(1);
  float epsilon = nc.getFloat("epsilon", 1e-5f);
  OpBuilder &b = nc.builder();
  ArrayRef<AffineExpr> dims = nc.dims(0), scaleDims = nc.dims(1);
  auto out = nc.broadcast(dims, scaleDims);
  if (failed(out))
    return failure();
  if (!k::symEqual(product(nc, *out), product(nc, dims)) ||
      out->size() != dims.size())
    return nc.error() << "scale " << nc.formatDims(scaleDims)
                      << " does not broadcast to the input "
                      << nc.formatDims(dims);
  if (*axis == rank - 1 && scaleDims.size() == 1 &&
      k::symEqual(scaleDims[0], dims.back())) {
    Value r =
        k::RMSNormOp::create(b, nc.loc(), nc.input(0).getType(), nc.input(0),
                             nc.input(1), b.getF32FloatAttr(epsilon));
    nc.setOutput(0, r, dims);
    return success();
  }
  Type f32 = b.getF32Type();
  Value x = nc.input(0);
  if (elem != f32)
    x = k::CastOp::create(b, nc.loc(), nc.tensorType(dims, f32), x);
  auto f32Type = nc.tensorType(dims, f32);
  Value sq = k::MulOp::create(b, nc.loc(), f32Type, x, x);
  SmallVector<int64_t> axes;
  SmallVector<AffineExpr> statDims(dims);
  for (int64_t a = *axis; a < rank; ++a) {
    axes.push_back(a);
    statDims[a] = nc.cst(1);
  }
  auto statType = nc.tensorType(statDims, f32);
  Value mean = k::ReduceMeanOp::create(b, nc.loc(), statType, sq,
                                       b.getDenseI64ArrayAttr(axes),
                                       b.getBoolAttr(true));
  Value eps = buildRank0Constant(nc, f32, epsilon);
  Value inv =
      k::RsqrtOp::create(b, nc.loc(), statType,
                         k::AddOp::create(b, nc.loc(), statType, mean, eps));
  Value normed = k::MulOp::create(b, nc.loc(), f32Type, x, inv);
  if (elem != f32)
    normed = k::CastOp::create(b, nc.loc(), nc.tensorType(dims, elem), normed);
  Value r = k::MulOp::create(b, nc.loc(), nc.tensorType(*out, elem), normed,
                             nc.input(1));
  nc.setOutput(0, r, *out);
  return success();
}

/// Opsets < 13 define softmax on the input flattened to 2-D at `axis`.
static LogicalResult convertSoftmaxFamily(NodeContext &nc, bool logSoftmax) {
  int64_t rank = nc.rank(0);
  bool legacy = nc.opset() < 13;
  auto axis = nc.normalizeAxis(nc.getInt("axis", legacy ? 1 : -1), rank);
  if (failed(axis))
    return failure();
  Value x = nc.input(0);
  SmallVector<AffineExpr> dims(nc.dims(0));
  bool flatten = legacy && *axis != rank - 1;
  int64_t opAxis = *axis;
  if (flatten) {
    SmallVector<AffineExpr> flat{product(nc, ArrayRef(dims).take_front(*axis)),
                                 product(nc, ArrayRef(dims).drop_front(*axis))};
    x = reshapeTo(nc, x, flat);
    opAxis = 1;
  }
  Value r = k::SoftmaxOp::create(nc.builder(), nc.loc(), x.getType(), x,
                                 nc.builder().getI64IntegerAttr(opAxis));
  if (logSoftmax)
    r = k::LogOp::create(nc.builder(), nc.loc(), r.getType(), r);
  if (flatten)
    r = reshapeTo(nc, r, dims);
  nc.setOutput(0, r, dims);
  return success();
}

static LogicalResult convertSoftmax(NodeContext &nc) {
  return convertSoftmaxFamily(nc, false);
}
static LogicalResult convertLogSoftmax(NodeContext &nc) {
  return convertSoftmaxFamily(nc, true);
}

ArrayRef<OpConverter> kiln::onnx_import::normalizationConverters() {
  static const OpConverter rows[] = {
      {"", "LayerNormalization", 17, kMaxSupportedOpset, convertLayerNorm,
       "Normalization"},
      {"", "LogSoftmax", 1, kMaxSupportedOpset, convertLogSoftmax,
       "Normalization"},
      {"", "RMSNormalization", 23, kMaxSupportedOpset, convertRMSNorm,
       "Normalization"},
      {"", "Softmax", 1, kMaxSupportedOpset, convertSoftmax, "Normalization"},
  };
  return rows;
}
