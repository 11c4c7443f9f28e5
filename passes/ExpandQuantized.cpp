//===- ExpandQuantized.cpp - Quantized Kiln ops in Kiln's generic ops ----===//
//
// For targets without the int8 and int4 GEMM kernels (kiln-expand-quantized),
// and for the kiln.dynamic_quantize ops that feed no GEMM: the same integers
// and rescale in Kiln's elementwise ops, reductions and integer matmuls; the
// int4 weights dequantized per group to an f32 matmul.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/QuantizedOps.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNEXPANDQUANTIZED
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

/// A rank-0 f32 constant.
static Value scalar(OpBuilder &b, Location loc, Type f32, double v) {
  auto type = RankedTensorType::get({}, f32);
  return ConstantOp::create(
      b, loc, type,
      cast<ElementsAttr>(DenseElementsAttr::get(type, b.getFloatAttr(f32, v))));
}

/// ONNX DynamicQuantizeLinear in Kiln's ops, for a kiln.dynamic_quantize
/// that feeds something other than an int8 GEMM:
///   scale = (max(0, max x) - min(0, min x)) / 255,
///   zero_point = clip(round(-min(0, min x) / scale), 0, 255),
///   y = clip(round(x / scale) + zero_point, 0, 255),
/// rounding to nearest even; an all-zero x (scale 0) quantizes to zeros with
/// zero point 0, as ONNX Runtime does, instead of dividing by zero. Both
/// are rounded and clipped in f32, so their casts to uint8 are exact.
void kiln::expandDynamicQuantize(DynamicQuantizeOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xType = cast<RankedTensorType>(x.getType());
  Type f32 = b.getF32Type();
  auto scalarType = RankedTensorType::get({}, f32);
  SmallVector<int64_t> all;
  for (int64_t i = 0; i < xType.getRank(); ++i)
    all.push_back(i);
  auto reduce = [&](auto tag) {
    return decltype(tag)::create(b, loc, scalarType, x,
                                 b.getDenseI64ArrayAttr(all),
                                 b.getBoolAttr(false));
  };
  Value zero = scalar(b, loc, f32, 0.0), one = scalar(b, loc, f32, 1.0);
  Value lo = MinOp::create(b, loc, scalarType, reduce(ReduceMinOp()), zero);
  Value hi = MaxOp::create(b, loc, scalarType, reduce(ReduceMaxOp()), zero);
  Value scale = DivOp::create(b, loc, scalarType,
                              SubOp::create(b, loc, scalarType, hi, lo),
                              scalar(b, loc, f32, 255.0));
  Value isZero = EqualOp::create(
      b, loc, RankedTensorType::get({}, b.getI1Type()), scale, zero);
  Value divisor = WhereOp::create(b, loc, scalarType, isZero, one, scale);
  auto clip255 = [&](Value v) -> Value {
    return ClipOp::create(b, loc, v.getType(), v, b.getF64FloatAttr(0.0),
                          b.getF64FloatAttr(255.0));
  };
  Value zeroPoint = clip255(RoundOp::create(
      b, loc, scalarType,
      DivOp::create(b, loc, scalarType, NegOp::create(b, loc, scalarType, lo),
                    divisor)));
  auto fType = xType.clone(f32);
  Value y = AddOp::create(
      b, loc, fType,
      RoundOp::create(b, loc, fType, DivOp::create(b, loc, fType, x, divisor)),
      zeroPoint);
  op.getOutput().replaceAllUsesWith(
      CastOp::create(b, loc, op.getOutput().getType(), clip255(y)));
  op.getScale().replaceAllUsesWith(scale);
  op.getZeroPoint().replaceAllUsesWith(
      CastOp::create(b, loc, op.getZeroPoint().getType(), zeroPoint));
  op.erase();
}

/// y + bias, then the activation, as kiln.linear's epilogue.
static Value addBiasAndActivation(OpBuilder &b, Location loc, Value y,
                                  Value bias, StringRef act) {
  auto rt = cast<RankedTensorType>(y.getType());
  if (bias)
    y = AddOp::create(b, loc, rt, y, bias);
  if (act == "relu")
    return ReluOp::create(b, loc, rt, y);
  if (act == "silu")
    return SiluOp::create(b, loc, rt, y);
  if (act == "gelu" || act == "gelu_tanh")
    return GeluOp::create(b, loc, rt, y,
                          b.getStringAttr(act == "gelu" ? "none" : "tanh"));
  return y;
}

namespace {
/// x's rows quantized as the `row` modes do: q = round(x / s) as f32
/// integers, s = max |x| / 127 with a last dim of 1 (q = 0 where s is 0).
struct RowQuantized {
  Value q, scale;
};
} // namespace

static RowQuantized quantizeRows(OpBuilder &b, Location loc, Value x) {
  auto xt = cast<RankedTensorType>(x.getType());
  Type f32 = b.getF32Type();
  SmallVector<int64_t> rowShape(xt.getShape());
  rowShape.back() = 1;
  auto rowType = RankedTensorType::get(rowShape, f32);
  Value amax = ReduceMaxOp::create(
      b, loc, rowType, AbsOp::create(b, loc, xt, x),
      b.getDenseI64ArrayAttr({xt.getRank() - 1}), b.getBoolAttr(true));
  Value zero = scalar(b, loc, f32, 0.0);
  Value s = DivOp::create(b, loc, rowType, amax, scalar(b, loc, f32, 127.0));
  Value isZero = EqualOp::create(b, loc, rowType.clone(b.getI1Type()), s, zero);
  Value inv = WhereOp::create(
      b, loc, rowType, isZero, zero,
      DivOp::create(b, loc, rowType, scalar(b, loc, f32, 1.0), s));
  Value q = RoundOp::create(b, loc, xt, MulOp::create(b, loc, xt, x, inv));
  return {q, s};
}

void kiln::expandQLinear(QLinearOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value x = op.getInput(), w = op.getWeight(), scales = op.getScales();
  auto xt = cast<RankedTensorType>(x.getType());
  auto wt = cast<RankedTensorType>(w.getType());
  RankedTensorType rt = op.getType();
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto i32Type = rt.clone(i32);
  Value y;
  StringRef quant = op.getQuant();
  if (quant == "none") {
    // f32 x times the dequantized weight.
    auto wf = wt.clone(f32);
    Value deq =
        MulOp::create(b, loc, wf, CastOp::create(b, loc, wf, w), scales);
    y = MatMulOp::create(b, loc, rt, x, deq);
  } else if (quant == "tensor_u8") {
    auto q = DynamicQuantizeOp::create(
        b, loc, xt.clone(b.getIntegerType(8, false)),
        RankedTensorType::get({}, f32),
        RankedTensorType::get({}, b.getIntegerType(8, false)), x);
    Value a =
        SubOp::create(b, loc, xt.clone(i32),
                      CastOp::create(b, loc, xt.clone(i32), q.getOutput()),
                      CastOp::create(b, loc, RankedTensorType::get({}, i32),
                                     q.getZeroPoint()));
    Value m = MatMulOp::create(b, loc, i32Type, a, w);
    Value s = MulOp::create(b, loc, cast<RankedTensorType>(scales.getType()),
                            q.getScale(), scales);
    y = MulOp::create(b, loc, rt, CastOp::create(b, loc, rt, m), s);
    expandDynamicQuantize(q);
  } else if (quant == "static_u8") {
    // q - z with q = clip(round(x / s) + z, 0, 255), exact in f32.
    Value s = scalar(b, loc, f32, op.getInputScaleAttr().getValueAsDouble());
    Value z = scalar(b, loc, f32, *op.getInputZeroPoint());
    Value q = ClipOp::create(
        b, loc, xt,
        AddOp::create(
            b, loc, xt,
            RoundOp::create(b, loc, xt, DivOp::create(b, loc, xt, x, s)), z),
        b.getF64FloatAttr(0.0), b.getF64FloatAttr(255.0));
    Value a =
        CastOp::create(b, loc, xt.clone(i32), SubOp::create(b, loc, xt, q, z));
    Value m = MatMulOp::create(b, loc, i32Type, a, w);
    Value rs = MulOp::create(b, loc, cast<RankedTensorType>(scales.getType()),
                             scales, s);
    y = MulOp::create(b, loc, rt, CastOp::create(b, loc, rt, m), rs);
  } else {
    RowQuantized rq = quantizeRows(b, loc, x);
    Value q = CastOp::create(b, loc, xt.clone(i32), rq.q);
    Value m = MatMulOp::create(b, loc, i32Type, q, w);
    SmallVector<int64_t> scaleShape(xt.getShape());
    scaleShape.back() = rt.getShape().back();
    Value rs = MulOp::create(b, loc, RankedTensorType::get(scaleShape, f32),
                             rq.scale, scales);
    y = MulOp::create(b, loc, rt, CastOp::create(b, loc, rt, m), rs);
  }
  op.getResult().replaceAllUsesWith(
      addBiasAndActivation(b, loc, y, op.getBias(), op.getActivation()));
  op.erase();
}

/// w = (q - zero_points[k / g]) * scales[k / g], the groups' rows gathered
/// by a constant index per row of K, then an f32 kiln.matmul (of the
/// quantized rows with quant = "row", times their scales).
void kiln::expandQLinearInt4(QLinearInt4Op op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto wt = cast<RankedTensorType>(op.getWeight().getType());
  int64_t k = wt.getDimSize(0), g = op.getGroupSize();
  auto idxType = RankedTensorType::get({k}, b.getI64Type());
  SmallVector<int64_t> groupOf(k);
  for (int64_t i = 0; i < k; ++i)
    groupOf[i] = i / g;
  Value idx = ConstantOp::create(b, loc, idxType,
                                 cast<ElementsAttr>(DenseElementsAttr::get(
                                     idxType, ArrayRef<int64_t>(groupOf))));
  auto wf = wt.clone(b.getF32Type());
  auto perRow = [&](Value grouped) -> Value {
    return GatherOp::create(b, loc, wf, grouped, idx, b.getI64IntegerAttr(0));
  };
  Value w = CastOp::create(b, loc, wf, op.getWeight());
  if (Value zp = op.getZeroPoints())
    w = SubOp::create(b, loc, wf, w, perRow(zp));
  w = MulOp::create(b, loc, wf, w, perRow(op.getScales()));
  Value y;
  if (op.getQuant() == "row") {
    // s * (q . w): the quantized rows' product, then their scales.
    RowQuantized rq = quantizeRows(b, loc, op.getInput());
    y = MulOp::create(b, loc, op.getType(),
                      MatMulOp::create(b, loc, op.getType(), rq.q, w),
                      rq.scale);
  } else {
    y = MatMulOp::create(b, loc, op.getType(), op.getInput(), w);
  }
  op.getResult().replaceAllUsesWith(
      addBiasAndActivation(b, loc, y, op.getBias(), op.getActivation()));
  op.erase();
}

namespace {
struct KilnExpandQuantizedPass
    : kiln::impl::KilnExpandQuantizedBase<KilnExpandQuantizedPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<QLinearOp, QLinearInt4Op, DynamicQuantizeOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto q = dyn_cast<QLinearOp>(op))
        expandQLinear(q);
      else if (auto q4 = dyn_cast<QLinearInt4Op>(op))
        expandQLinearInt4(q4);
      else
        expandDynamicQuantize(cast<DynamicQuantizeOp>(op));
    }
  }
};
} // namespace
