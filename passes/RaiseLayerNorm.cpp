//===- RaiseLayerNorm.cpp - LayerNorm decompositions -> kiln.layer_norm ---===//
//
// Opset < 17 has no LayerNormalization, so exports at those opsets (and
// torch.onnx's default opset 14 for years) write it out as reductions.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/RaisingMatchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISELAYERNORM
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::raising;

namespace {

/// Trailing axes [a, rank) of a keepdims mean, as a.
std::optional<int64_t> trailingMeanAxis(ReduceMeanOp mean) {
  int64_t rank = cast<RankedTensorType>(mean.getInput().getType()).getRank();
  ArrayRef<int64_t> axes = mean.getAxes();
  if (!mean.getKeepdims() || axes.empty() || axes.back() != rank - 1 ||
      axes.back() - axes.front() + 1 != (int64_t)axes.size())
    return std::nullopt;
  return axes.front();
}

struct Normalized {
  Value x;
  int64_t axis;
  double eps;
};

/// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps), the division also as
/// a multiplication by reciprocal(sqrt), 1 / sqrt or rsqrt.
std::optional<Normalized> normalized(Value v) {
  Value d, sum;
  if (auto div = singleUse<DivOp>(v)) {
    if (auto sqrt = singleUse<SqrtOp>(div.getRhs())) {
      d = div.getLhs();
      sum = sqrt.getInput();
    }
  } else if (auto mul = singleUse<MulOp>(v)) {
    eitherOrder(mul, [&](Value centered, Value r) {
      Value s;
      if (auto rs = singleUse<RsqrtOp>(r))
        sum = rs.getInput();
      else if (auto rec = singleUse<ReciprocalOp>(r))
        s = rec.getInput();
      else if (auto q = singleUse<DivOp>(r); q && isScalar(q.getLhs(), 1.0))
        s = q.getRhs();
      if (auto sqrt = s ? singleUse<SqrtOp>(s) : SqrtOp())
        sum = sqrt.getInput();
      if (sum)
        d = centered;
      return static_cast<bool>(sum);
    });
  }
  auto sub = d ? d.getDefiningOp<SubOp>() : SubOp();
  auto add = sum ? singleUse<AddOp>(sum) : AddOp();
  if (!sub || !add || !isF32Tensor(d) || d.getType() != sub.getLhs().getType())
    return std::nullopt;
  auto mean = singleUse<ReduceMeanOp>(sub.getRhs());
  if (!mean || mean.getInput() != sub.getLhs())
    return std::nullopt;
  std::optional<int64_t> axis = trailingMeanAxis(mean);
  if (!axis)
    return std::nullopt;
  std::optional<Normalized> found;
  Operation *square = nullptr;
  eitherOrder(add, [&](Value m, Value c) {
    std::optional<double> eps = matchScalarConstant(c);
    auto var = singleUse<ReduceMeanOp>(m);
    if (!eps || *eps <= 0 || !var || squareOf(var.getInput()) != d ||
        var.getAxes() != mean.getAxes() || !var.getKeepdims())
      return false;
    square = var.getInput().getDefiningOp();
    found = Normalized{sub.getLhs(), *axis, *eps};
    return true;
  });
  // The centered values feed the variance and the division only.
  if (!found || llvm::any_of(d.getUsers(), [&](Operation *user) {
        return user != square && user != v.getDefiningOp();
      }))
    return std::nullopt;
  return found;
}

/// Whether `p` can scale or shift the normalized axes [axis, rank) of x:
/// at most that rank, each extent equal or 1.
bool fitsNormalizedShape(Value p, RankedTensorType x, int64_t axis) {
  auto pt = cast<RankedTensorType>(p.getType());
  int64_t normRank = x.getRank() - axis;
  if (pt.getRank() > normRank || pt.getElementType() != x.getElementType())
    return false;
  for (int64_t i = 1; i <= pt.getRank(); ++i) {
    int64_t a = pt.getDimSize(pt.getRank() - i),
            b = x.getDimSize(x.getRank() - i);
    if (a != 1 && (ShapedType::isDynamic(a) || a != b))
      return false;
  }
  return true;
}

/// normalized * scale (+ bias), operands of each op in either order.
struct RaiseLayerNorm : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    std::optional<Normalized> norm;
    Value scale;
    eitherOrder(op, [&](Value n, Value s) {
      norm = n.getType() == type ? normalized(n) : std::nullopt;
      if (norm && fitsNormalizedShape(s, type, norm->axis))
        scale = s;
      return static_cast<bool>(scale);
    });
    if (!scale)
      return failure();
    Operation *root = op;
    Value bias;
    auto add =
        op->hasOneUse() ? dyn_cast<AddOp>(*op->getUsers().begin()) : AddOp();
    if (add && add.getType() == type)
      eitherOrder(add, [&](Value y, Value b) {
        if (y == op.getResult() && fitsNormalizedShape(b, type, norm->axis))
          bias = b;
        return static_cast<bool>(bias);
      });
    if (bias)
      root = add;
    rewriter.setInsertionPoint(root);
    auto ln =
        LayerNormOp::create(rewriter, root->getLoc(), type, norm->x, scale,
                            bias, rewriter.getI64IntegerAttr(norm->axis),
                            rewriter.getF32FloatAttr(norm->eps));
    rewriter.replaceOp(root, ln);
    return success();
  }
};

struct KilnRaiseLayerNormPass
    : kiln::impl::KilnRaiseLayerNormBase<KilnRaiseLayerNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseLayerNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
