//===- RaiseQuantizedLinear.cpp - ORT's int8 GEMMs -> qlinear -------------===//
//
// onnxruntime.quantization.quantize_dynamic writes each weight MatMul as
// DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, 0) -> Cast ->
// Mul by (x_scale * W_scale) [-> Add bias]. The importer makes that
// kiln.dynamic_quantize, a cast and subtraction of the zero point, an
// integer kiln.matmul, a cast and two multiplications; this pass makes it
// one kiln.qlinear with quant = "tensor_u8", which computes the same
// integers (the uint8 values less the zero point, times the int8 weight, in
// int32) and the same rescale on the int8 GEMM kernel.
//
// quantize_static's QDQ format puts QuantizeLinear -> DequantizeLinear on
// the activation and DequantizeLinear on the int8 weight of each MatMul;
// with constant parameters that becomes kiln.qlinear with quant =
// "static_u8", again the same integers and rescale.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/ConstantData.h"
#include "passes/Passes.h"
#include "passes/QuantizedOps.h"
#include "passes/RaisingMatchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISEQUANTIZEDLINEAR
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::raising;

namespace {

/// `v` through casts and reshapes (the importer's widening of a zero point).
Value throughCastsAndReshapes(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<CastOp, ReshapeOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// Every element of an f32 constant; nullopt for another type or data not
/// at hand.
std::optional<SmallVector<float>> f32Values(ConstantOp c) {
  auto t = cast<RankedTensorType>(c.getType());
  if (!t.getElementType().isF32() || !t.hasStaticShape())
    return std::nullopt;
  int64_t count = t.getNumElements();
  SmallVector<char, 0> storage;
  std::optional<ArrayRef<char>> bytes =
      elementBytes(c.getValue(), count, sizeof(float), storage);
  if (!bytes)
    return std::nullopt;
  SmallVector<float> out(count);
  std::memcpy(out.data(), bytes->data(), count * sizeof(float));
  return out;
}

/// `values` as n column scales: one broadcast, or n as they are; an empty
/// vector for any other count.
SmallVector<float> broadcastColumns(ArrayRef<float> values, int64_t n) {
  int64_t count = values.size();
  if (count != 1 && count != n)
    return {};
  SmallVector<float> out;
  for (int64_t j = 0; j < n; ++j)
    out.push_back(values[count == 1 ? 0 : j]);
  return out;
}

/// The per-column scales of a constant f32 weight scale: rank 0, [1] or
/// [n]; an empty vector otherwise.
SmallVector<float> columnScales(Value v, int64_t n) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c || !isa<DenseFPElementsAttr>(c.getValue()) ||
      c.getType().getRank() > 1)
    return {};
  std::optional<SmallVector<float>> values = f32Values(c);
  return values ? broadcastColumns(*values, n) : SmallVector<float>();
}

/// The column scales as a kiln.qlinear's [N] f32 constant.
Value scalesConstant(PatternRewriter &rewriter, Location loc,
                     ArrayRef<float> scales) {
  auto type =
      RankedTensorType::get({int64_t(scales.size())}, rewriter.getF32Type());
  return ConstantOp::create(
      rewriter, loc, type,
      cast<ElementsAttr>(DenseElementsAttr::get(type, scales)));
}

/// mul(cast<f32>(matmul(cast<i32>(q) - zp, w)), scale * w_scale), q and zp
/// from one kiln.dynamic_quantize of x and w a constant int8 [K, N], =>
/// qlinear(x, w, w_scale) {quant = "tensor_u8"}.
struct RaiseDynamicInt8MatMul : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32Tensor(op.getResult()))
      return failure();
    MatMulOp mm;
    DynamicQuantizeOp dq;
    SmallVector<float> scales;
    eitherOrder(op, [&](Value product, Value scale) {
      auto cast = singleUse<CastOp>(product);
      if (!cast)
        return false;
      auto m = singleUse<MatMulOp>(cast.getInput());
      if (!m)
        return false;
      auto w = dyn_cast<RankedTensorType>(m.getRhs().getType());
      if (!w || w.getRank() != 2 || !w.hasStaticShape() ||
          !w.getElementType().isSignlessInteger(8) ||
          !m.getRhs().getDefiningOp<ConstantOp>())
        return false;
      auto sub = m.getLhs().getDefiningOp<SubOp>();
      if (!sub)
        return false;
      auto widened = sub.getLhs().getDefiningOp<CastOp>();
      auto q = widened ? widened.getInput().getDefiningOp<DynamicQuantizeOp>()
                       : DynamicQuantizeOp();
      if (!q || widened.getInput() != q.getOutput() ||
          throughCastsAndReshapes(sub.getRhs()) != q.getZeroPoint())
        return false;
      auto scaleMul = scale.getDefiningOp<MulOp>();
      if (!scaleMul)
        return false;
      SmallVector<float> s;
      eitherOrder(scaleMul, [&](Value xs, Value ws) {
        if (xs != q.getScale())
          return false;
        s = columnScales(ws, w.getDimSize(1));
        return !s.empty();
      });
      if (s.empty())
        return false;
      mm = m;
      dq = q;
      scales = std::move(s);
      return true;
    });
    if (!mm)
      return failure();
    Value x = dq.getInput();
    auto xt = cast<RankedTensorType>(x.getType());
    if (xt.getRank() < 2 || xt.getRank() != op.getType().getRank())
      return failure();
    rewriter.replaceOpWithNewOp<QLinearOp>(
        op, op.getType(), x, mm.getRhs(),
        scalesConstant(rewriter, op.getLoc(), scales), Value(),
        rewriter.getStringAttr("none"), rewriter.getStringAttr("tensor_u8"),
        /*input_scale=*/FloatAttr(), /*input_zero_point=*/IntegerAttr());
    return success();
  }
};

/// The constant behind `v`'s casts and reshapes (how the importer widens
/// and broadcasts a scale or zero point).
ConstantOp constantThrough(Value v) {
  return throughCastsAndReshapes(v).getDefiningOp<ConstantOp>();
}

/// Every element of an 8-bit integer constant, signed or unsigned as its
/// type says.
std::optional<SmallVector<int32_t>> int8Values(ConstantOp c) {
  auto t = cast<RankedTensorType>(c.getType());
  if (!t.getElementType().isInteger(8) || !t.hasStaticShape())
    return std::nullopt;
  SmallVector<char, 0> storage;
  std::optional<ArrayRef<char>> bytes =
      elementBytes(c.getValue(), t.getNumElements(), 1, storage);
  if (!bytes)
    return std::nullopt;
  bool isUnsigned = t.getElementType().isUnsignedInteger();
  SmallVector<int32_t> out;
  for (char b : *bytes)
    out.push_back(isUnsigned ? int32_t(uint8_t(b)) : int32_t(int8_t(b)));
  return out;
}

/// Every element of a signless i32 constant.
std::optional<SmallVector<int32_t>> int32Values(ConstantOp c) {
  auto t = cast<RankedTensorType>(c.getType());
  if (!t.getElementType().isSignlessInteger(32) || !t.hasStaticShape())
    return std::nullopt;
  SmallVector<char, 0> storage;
  std::optional<ArrayRef<char>> bytes =
      elementBytes(c.getValue(), t.getNumElements(), 4, storage);
  if (!bytes)
    return std::nullopt;
  SmallVector<int32_t> out(t.getNumElements());
  std::memcpy(out.data(), bytes->data(), out.size() * 4);
  return out;
}

/// The one f32 value of a constant scale behind reshapes; nullopt unless it
/// has a single element.
std::optional<float> scalarScale(Value v) {
  auto c = constantThrough(v);
  std::optional<SmallVector<float>> values = c ? f32Values(c) : std::nullopt;
  if (!values || values->size() != 1)
    return std::nullopt;
  return values->front();
}

/// The single zero point behind `v`'s casts and reshapes, with whether its
/// type is unsigned; nullopt unless it is one 8-bit integer.
std::optional<std::pair<int32_t, bool>> scalarZeroPoint(Value v) {
  auto c = constantThrough(v);
  std::optional<SmallVector<int32_t>> values = c ? int8Values(c) : std::nullopt;
  if (!values || values->size() != 1)
    return std::nullopt;
  return std::make_pair(
      values->front(),
      cast<RankedTensorType>(c.getType()).getElementType().isUnsignedInteger());
}

/// An activation through ONNX QuantizeLinear and DequantizeLinear with one
/// scale and zero point, as the importer writes the pair:
///   mul(sub(cast<f32>(q), cast<f32>(zp)), s) or mul(cast<f32>(q), s), with
///   q = cast<i8|ui8>(clip(add(round(div(x, s)), cast<f32>(zp)))) (or no
///   add), the clip the type's range.
struct StaticQuantizedInput {
  Value x;
  float scale;
  int32_t zeroPointU8; // an int8 zero point + 128
};

std::optional<StaticQuantizedInput> matchQdqInput(Value v) {
  auto mul = v.getDefiningOp<MulOp>();
  if (!mul || !isF32Tensor(v))
    return std::nullopt;
  std::optional<StaticQuantizedInput> out;
  eitherOrder(mul, [&](Value centered, Value scaleValue) {
    std::optional<float> scale = scalarScale(scaleValue);
    if (!scale)
      return false;
    // The DequantizeLinear: (q - zp), or q alone without a zero point.
    Value widened = centered;
    std::optional<std::pair<int32_t, bool>> dqZero;
    if (auto sub = centered.getDefiningOp<SubOp>()) {
      widened = sub.getLhs();
      dqZero = scalarZeroPoint(sub.getRhs());
      if (!dqZero)
        return false;
    }
    auto toFloat = widened.getDefiningOp<CastOp>();
    auto q = toFloat ? toFloat.getInput().getDefiningOp<CastOp>() : CastOp();
    if (!q)
      return false;
    Type qType = cast<RankedTensorType>(q.getType()).getElementType();
    if (!qType.isInteger(8))
      return false;
    bool isUnsigned = qType.isUnsignedInteger();
    if (dqZero && dqZero->second != isUnsigned)
      return false;
    // The QuantizeLinear: clip(round(x / s) [+ zp]) to the type's range.
    auto clip = q.getInput().getDefiningOp<ClipOp>();
    if (!clip || clip.getMin().convertToDouble() != (isUnsigned ? 0 : -128) ||
        clip.getMax().convertToDouble() != (isUnsigned ? 255 : 127))
      return false;
    Value rounded = clip.getInput();
    std::optional<std::pair<int32_t, bool>> qZero;
    if (auto add = rounded.getDefiningOp<AddOp>()) {
      bool matched = eitherOrder(add, [&](Value r, Value zp) {
        qZero = scalarZeroPoint(zp);
        rounded = r;
        return qZero && r.getDefiningOp<RoundOp>();
      });
      if (!matched)
        return false;
    }
    int32_t zero = dqZero ? dqZero->first : 0;
    if ((qZero ? qZero->first : 0) != zero ||
        (qZero && qZero->second != isUnsigned))
      return false;
    auto round = rounded.getDefiningOp<RoundOp>();
    auto div = round ? round.getInput().getDefiningOp<DivOp>() : DivOp();
    if (!div || scalarScale(div.getRhs()) != scale ||
        !isF32Tensor(div.getLhs()))
      return false;
    out = StaticQuantizedInput{div.getLhs(), *scale,
                               isUnsigned ? zero : zero + 128};
    return true;
  });
  return out;
}

/// A constant int8 weight through ONNX DequantizeLinear, symmetric (zero
/// points absent or all 0) and scaled per tensor or per output channel:
/// mul(cast<f32>(w) [- cast<f32>(zp)], s). The channels run along
/// `channelAxis`: 1 for a MatMul's [K, N] weight (s rank <= 1, or every
/// extent 1 but the last), 0 for a Gemm's [N, K] one with transB (s of one
/// element, or [N, 1] as the importer reshapes an axis-0 scale). The
/// weight and its channel scales.
struct DequantizedWeight {
  ConstantOp weight;
  SmallVector<float> scales;
  bool transposed = false; // weight is [N, K]
};

std::optional<DequantizedWeight> matchDequantizedWeight(Value v,
                                                        int64_t channelAxis) {
  auto mul = v.getDefiningOp<MulOp>();
  auto vt = dyn_cast<RankedTensorType>(v.getType());
  if (!mul || !vt || vt.getRank() != 2 || !vt.hasStaticShape() ||
      !vt.getElementType().isF32())
    return std::nullopt;
  int64_t n = vt.getDimSize(channelAxis);
  std::optional<DequantizedWeight> out;
  eitherOrder(mul, [&](Value centered, Value scaleValue) {
    // The scale as the multiplication sees it.
    auto st = dyn_cast<RankedTensorType>(scaleValue.getType());
    if (!st || !st.hasStaticShape())
      return false;
    ArrayRef<int64_t> shape = st.getShape();
    bool perTensor = st.getNumElements() == 1;
    bool fits = channelAxis == 1
                    ? shape.empty() ||
                          (llvm::all_of(shape.drop_back(),
                                        [](int64_t d) { return d == 1; }) &&
                           (shape.back() == 1 || shape.back() == n))
                    : perTensor ||
                          (shape.size() == 2 && shape[0] == n && shape[1] == 1);
    if (!fits)
      return false;
    auto sc = constantThrough(scaleValue);
    std::optional<SmallVector<float>> values =
        sc ? f32Values(sc) : std::nullopt;
    if (!values || int64_t(values->size()) != st.getNumElements())
      return false;
    Value widened = centered;
    if (auto sub = centered.getDefiningOp<SubOp>()) {
      auto zc = constantThrough(sub.getRhs());
      std::optional<SmallVector<int32_t>> zeros =
          zc ? int8Values(zc) : std::nullopt;
      if (!zeros || llvm::any_of(*zeros, [](int32_t z) { return z != 0; }))
        return false;
      widened = sub.getLhs();
    }
    auto widen = widened.getDefiningOp<CastOp>();
    auto w =
        widen ? widen.getInput().getDefiningOp<ConstantOp>() : ConstantOp();
    if (!w || !cast<RankedTensorType>(w.getType())
                   .getElementType()
                   .isSignlessInteger(8))
      return false;
    out = DequantizedWeight{w, broadcastColumns(*values, n)};
    return true;
  });
  return out;
}

/// A MatMul's right operand as a dequantized int8 [K, N] weight: directly,
/// or as ONNX Gemm with transB gives it, transpose(DequantizeLinear(w)) of an
/// [N, K] weight scaled per row.
std::optional<DequantizedWeight> matchMatMulWeight(Value rhs) {
  if (auto t = rhs.getDefiningOp<TransposeOp>()) {
    if (t.getPerm() != ArrayRef<int64_t>({1, 0}))
      return std::nullopt;
    std::optional<DequantizedWeight> w =
        matchDequantizedWeight(t.getInput(), /*channelAxis=*/0);
    if (w)
      w->transposed = true;
    return w;
  }
  return matchDequantizedWeight(rhs, /*channelAxis=*/1);
}

/// The [K, N] int8 constant of a matched weight: its own, or a new one
/// holding the transpose of an [N, K] one; null when the data is not at hand.
Value qlinearWeight(PatternRewriter &rewriter, DequantizedWeight &w) {
  if (!w.transposed)
    return w.weight.getResult();
  std::optional<SmallVector<int32_t>> values = int8Values(w.weight);
  if (!values)
    return Value();
  auto wt = cast<RankedTensorType>(w.weight.getType());
  int64_t n = wt.getDimSize(0), k = wt.getDimSize(1);
  SmallVector<int8_t> transposed(k * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j)
      transposed[j * n + i] = int8_t((*values)[i * k + j]);
  auto type = RankedTensorType::get({k, n}, wt.getElementType());
  return ConstantOp::create(rewriter, w.weight.getLoc(), type,
                            cast<ElementsAttr>(DenseElementsAttr::get(
                                type, ArrayRef<int8_t>(transposed))));
}

/// matmul(DequantizeLinear(QuantizeLinear(x)), DequantizeLinear(w)), w a
/// constant symmetric int8 [K, N] (or the transposed [N, K] of a Gemm), as
/// onnxruntime.quantization's quantize_static writes MatMul and Gemm in the
/// QDQ format => qlinear(x, w, w_scales)
/// {quant = "static_u8"}: the same integers (q - zp times w, in int32) and
/// rescale on the int8 GEMM kernel.
struct RaiseStaticInt8MatMul : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32Tensor(op.getResult()))
      return failure();
    std::optional<DequantizedWeight> w = matchMatMulWeight(op.getRhs());
    if (!w || w->scales.empty())
      return failure();
    std::optional<StaticQuantizedInput> in = matchQdqInput(op.getLhs());
    if (!in || !std::isfinite(in->scale) ||
        !(in->scale >= std::numeric_limits<float>::min()))
      return failure();
    auto xt = cast<RankedTensorType>(in->x.getType());
    if (xt.getRank() < 2 || xt.getRank() != op.getType().getRank())
      return failure();
    Value weight = qlinearWeight(rewriter, *w);
    if (!weight)
      return failure();
    rewriter.replaceOpWithNewOp<QLinearOp>(
        op, op.getType(), in->x, weight,
        scalesConstant(rewriter, op.getLoc(), w->scales), Value(),
        rewriter.getStringAttr("none"), rewriter.getStringAttr("static_u8"),
        rewriter.getF32FloatAttr(in->scale),
        rewriter.getI32IntegerAttr(in->zeroPointU8));
    return success();
  }
};

/// The f32 values of a bias [n]: a constant, or ONNX DequantizeLinear of a
/// constant int32 one as quantize_static writes a Gemm's C,
/// mul(sub(cast<f32>(q), cast<f32>(zp)), s) or mul(cast<f32>(q), s) with s
/// one value or n, computed here as DequantizeLinear does in f32.
std::optional<SmallVector<float>> biasValues(Value b, int64_t n) {
  auto bt = dyn_cast<RankedTensorType>(b.getType());
  if (!bt || bt.getRank() != 1 || bt.getDimSize(0) != n || !isF32Tensor(b))
    return std::nullopt;
  if (auto c = b.getDefiningOp<ConstantOp>())
    return f32Values(c);
  auto mul = b.getDefiningOp<MulOp>();
  if (!mul)
    return std::nullopt;
  std::optional<SmallVector<float>> out;
  eitherOrder(mul, [&](Value centered, Value scaleValue) {
    auto sc = constantThrough(scaleValue);
    std::optional<SmallVector<float>> scales =
        sc ? f32Values(sc) : std::nullopt;
    if (!scales || (scales->size() != 1 && int64_t(scales->size()) != n))
      return false;
    // An i32 constant widened by a cast (DequantizeLinear of an int32 bias).
    auto intValues = [](Value v) -> std::optional<SmallVector<int32_t>> {
      auto cast = v.getDefiningOp<CastOp>();
      auto c =
          cast ? cast.getInput().getDefiningOp<ConstantOp>() : ConstantOp();
      return c ? int32Values(c) : std::nullopt;
    };
    Value widened = centered;
    SmallVector<int32_t> zeros(1, 0);
    if (auto sub = centered.getDefiningOp<SubOp>()) {
      std::optional<SmallVector<int32_t>> z = intValues(sub.getRhs());
      if (!z || (z->size() != 1 && int64_t(z->size()) != n))
        return false;
      zeros = *z;
      widened = sub.getLhs();
    }
    std::optional<SmallVector<int32_t>> q = intValues(widened);
    if (!q || int64_t(q->size()) != n)
      return false;
    SmallVector<float> values(n);
    for (int64_t j = 0; j < n; ++j)
      values[j] = float((*q)[j] - zeros[zeros.size() == 1 ? 0 : j]) *
                  (*scales)[scales->size() == 1 ? 0 : j];
    out = values;
    return true;
  });
  return out;
}

/// qlinear(x, w, s) + b with b a constant [N] (or a dequantized int32 one)
/// => qlinear(x, w, s, b).
struct FoldQLinearBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    QLinearOp q;
    Value bias;
    std::optional<SmallVector<float>> values;
    eitherOrder(op, [&](Value l, Value b) {
      auto candidate = singleUse<QLinearOp>(l);
      if (!candidate || candidate.getBias() ||
          candidate.getActivation() != "none" || l.getType() != op.getType())
        return false;
      values = biasValues(b, candidate.getType().getShape().back());
      if (!values)
        return false;
      q = candidate;
      bias = b;
      return true;
    });
    if (!q)
      return failure();
    if (!bias.getDefiningOp<ConstantOp>())
      bias = scalesConstant(rewriter, op.getLoc(), *values);
    rewriter.replaceOpWithNewOp<QLinearOp>(
        op, op.getType(), q.getInput(), q.getWeight(), q.getScales(), bias,
        q.getActivationAttr(), q.getQuantAttr(), q.getInputScaleAttr(),
        q.getInputZeroPointAttr());
    return success();
  }
};

struct KilnRaiseQuantizedLinearPass
    : kiln::impl::KilnRaiseQuantizedLinearBase<KilnRaiseQuantizedLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns
        .add<RaiseDynamicInt8MatMul, RaiseStaticInt8MatMul, FoldQLinearBias>(
            &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    SmallVector<DynamicQuantizeOp> left;
    getOperation().walk([&](DynamicQuantizeOp op) { left.push_back(op); });
    for (DynamicQuantizeOp op : left) {
      if (op->use_empty())
        op.erase();
      else
        expandDynamicQuantize(op);
    }
  }
};

} // namespace
