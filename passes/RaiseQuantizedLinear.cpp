//===- RaiseQuantizedLinear.cpp - ORT's dynamic int8 GEMMs -> qlinear -----===//
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
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/QuantizedOps.h"
#include "passes/RaisingMatchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

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

/// The per-column scales of a constant f32 weight scale: rank 0, [1] or
/// [n]; an empty vector otherwise.
SmallVector<float> columnScales(Value v, int64_t n) {
  auto c = v.getDefiningOp<ConstantOp>();
  auto dense = c ? dyn_cast<DenseFPElementsAttr>(c.getValue()) : nullptr;
  if (!dense || !dense.getElementType().isF32() ||
      dense.getType().getRank() > 1)
    return {};
  int64_t count = dense.getNumElements();
  if (count != 1 && count != n)
    return {};
  SmallVector<float> out;
  auto values = dense.getValues<float>();
  for (int64_t j = 0; j < n; ++j)
    out.push_back(values[count == 1 ? 0 : j]);
  return out;
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
    int64_t n = scales.size();
    auto scalesType = RankedTensorType::get({n}, rewriter.getF32Type());
    Value scalesConst =
        ConstantOp::create(rewriter, op.getLoc(), scalesType,
                           cast<ElementsAttr>(DenseElementsAttr::get(
                               scalesType, ArrayRef<float>(scales))));
    rewriter.replaceOpWithNewOp<QLinearOp>(
        op, op.getType(), x, mm.getRhs(), scalesConst, Value(),
        rewriter.getStringAttr("none"), rewriter.getStringAttr("tensor_u8"));
    return success();
  }
};

/// qlinear(x, w, s) + b with b a constant [N] => qlinear(x, w, s, b).
struct FoldQLinearBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    QLinearOp q;
    Value bias;
    eitherOrder(op, [&](Value l, Value b) {
      auto candidate = singleUse<QLinearOp>(l);
      auto bt = dyn_cast<RankedTensorType>(b.getType());
      if (!candidate || candidate.getBias() ||
          candidate.getActivation() != "none" || !bt || bt.getRank() != 1 ||
          !isF32Tensor(b) || !b.getDefiningOp<ConstantOp>() ||
          l.getType() != op.getType() ||
          bt.getDimSize(0) != candidate.getType().getShape().back())
        return false;
      q = candidate;
      bias = b;
      return true;
    });
    if (!q)
      return failure();
    rewriter.replaceOpWithNewOp<QLinearOp>(
        op, op.getType(), q.getInput(), q.getWeight(), q.getScales(), bias,
        q.getActivationAttr(), q.getQuantAttr());
    return success();
  }
};

struct KilnRaiseQuantizedLinearPass
    : kiln::impl::KilnRaiseQuantizedLinearBase<KilnRaiseQuantizedLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseDynamicInt8MatMul, FoldQLinearBias>(&getContext());
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
