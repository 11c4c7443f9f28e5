//===- RaiseRMSNorm.cpp - RMSNorm decompositions -> kiln.rms_norm ---------===//
#include "passes/Passes.h"
#include "passes/RaisingMatchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISERMSNORM
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::raising;

namespace {

/// The statistics half: mean(x^2, last axis, keepdims) + eps, returning x
/// and eps.
std::optional<std::pair<Value, double>> meanSquarePlusEps(Value v) {
  std::optional<std::pair<Value, double>> found;
  auto add = singleUse<AddOp>(v);
  if (!add)
    return found;
  eitherOrder(add, [&](Value m, Value c) {
    std::optional<double> eps = matchScalarConstant(c);
    auto mean = singleUse<ReduceMeanOp>(m);
    if (!eps || *eps <= 0 || !mean || !mean.getKeepdims())
      return false;
    int64_t rank = cast<RankedTensorType>(mean.getType()).getRank();
    if (mean.getAxes() != ArrayRef<int64_t>{rank - 1})
      return false;
    Value x = squareOf(mean.getInput());
    if (x)
      found = {x, *eps};
    return static_cast<bool>(x);
  });
  return found;
}

/// x * rsqrt(ms + eps) written as x / sqrt(.), x * (1 / sqrt(.)),
/// x * reciprocal(sqrt(.)) or x * rsqrt(.); returns x and eps.
std::optional<std::pair<Value, double>> normalized(Value v) {
  if (auto div = singleUse<DivOp>(v)) {
    if (auto sqrt = singleUse<SqrtOp>(div.getRhs()))
      if (auto stats = meanSquarePlusEps(sqrt.getInput());
          stats && stats->first == div.getLhs())
        return stats;
    return std::nullopt;
  }
  std::optional<std::pair<Value, double>> found;
  auto mul = singleUse<MulOp>(v);
  if (!mul)
    return found;
  eitherOrder(mul, [&](Value x, Value r) {
    Value sum;
    if (auto rs = singleUse<RsqrtOp>(r)) {
      sum = rs.getInput();
    } else {
      Value s;
      if (auto rec = singleUse<ReciprocalOp>(r))
        s = rec.getInput();
      else if (auto d = singleUse<DivOp>(r); d && isScalar(d.getLhs(), 1.0))
        s = d.getRhs();
      if (auto sqrt = s ? singleUse<SqrtOp>(s) : SqrtOp())
        sum = sqrt.getInput();
    }
    if (!sum)
      return false;
    if (auto stats = meanSquarePlusEps(sum); stats && stats->first == x)
      found = stats;
    return found.has_value();
  });
  return found;
}

/// weight * normalized(x), or with the statistics in f32 between casts:
/// weight * cast(normalized(cast(x))).
struct RaiseRMSNorm : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    // A product of scalars (an int8 model's two scales) has no hidden dim.
    if (type.getRank() == 0)
      return failure();
    int64_t hidden = type.getShape().back();
    if (!isa<FloatType>(type.getElementType()) || ShapedType::isDynamic(hidden))
      return failure();
    Value input, weight;
    double eps = 0;
    eitherOrder(op, [&](Value w, Value n) {
      auto wt = cast<RankedTensorType>(w.getType());
      if (wt.getRank() != 1 || wt.getDimSize(0) != hidden ||
          wt.getElementType() != type.getElementType() || n.getType() != type)
        return false;
      Value core = n;
      auto narrow = singleUse<CastOp>(n);
      if (narrow)
        core = narrow.getInput();
      if (!isF32Tensor(core))
        return false;
      std::optional<std::pair<Value, double>> stats = normalized(core);
      if (!stats)
        return false;
      Value x = stats->first;
      if (narrow) {
        auto widen = x.getDefiningOp<CastOp>();
        if (!widen || widen.getInput().getType() != type)
          return false;
        x = widen.getInput();
      } else if (x.getType() != type) {
        return false;
      }
      input = x;
      weight = w;
      eps = stats->second;
      return true;
    });
    if (!input)
      return failure();
    rewriter.replaceOpWithNewOp<RMSNormOp>(op, type, input, weight,
                                           rewriter.getF32FloatAttr(eps));
    return success();
  }
};

struct KilnRaiseRMSNormPass
    : kiln::impl::KilnRaiseRMSNormBase<KilnRaiseRMSNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseRMSNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
