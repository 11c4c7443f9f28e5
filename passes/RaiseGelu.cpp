//===- RaiseGelu.cpp - Exported GELU subgraphs -> kiln.gelu ---------------===//
#include "passes/Passes.h"
#include "passes/RaisingMatchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISEGELU
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::raising;

namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrt2OverPi = 0.7978845608028654;

/// x / sqrt(2) or x * (1 / sqrt(2)); returns x.
Value scaledForErf(Value v) {
  if (auto d = singleUse<DivOp>(v); d && isScalar(d.getRhs(), kSqrt2))
    return d.getLhs();
  Value x;
  if (auto m = singleUse<MulOp>(v))
    eitherOrder(m, [&](Value a, Value c) {
      return isScalar(c, 1.0 / kSqrt2) && (x = a);
    });
  return x;
}

/// x * x * x in either association, or pow(x, 3); returns x.
Value cubeOf(Value v) {
  if (auto p = singleUse<PowOp>(v); p && isScalar(p.getRhs(), 3.0))
    return p.getLhs();
  Value x;
  if (auto m = singleUse<MulOp>(v))
    eitherOrder(m, [&](Value a, Value sq) {
      Value s = squareOf(sq);
      return s && s == a && (x = a);
    });
  return x;
}

/// sqrt(2/pi) * (x + 0.044715 * x^3), operands of each op in either order;
/// returns x.
Value tanhArgument(Value v) {
  Value x;
  auto scaled = singleUse<MulOp>(v);
  if (!scaled)
    return x;
  eitherOrder(scaled, [&](Value sum, Value c) {
    auto add = singleUse<AddOp>(sum);
    if (!add || !isScalar(c, kSqrt2OverPi))
      return false;
    return eitherOrder(add, [&](Value a, Value term) {
      auto m = singleUse<MulOp>(term);
      return m && eitherOrder(m, [&](Value cube, Value k) {
               return isScalar(k, 0.044715) && cubeOf(cube) == a && (x = a);
             });
    });
  });
  return x;
}

/// 1 + erf(x / sqrt(2)) or 1 + tanh(...): the input x and the form.
struct GeluBracket {
  Value x;
  StringRef approximate;
};
std::optional<GeluBracket> matchBracket(Value v) {
  std::optional<GeluBracket> found;
  auto add = singleUse<AddOp>(v);
  if (!add)
    return found;
  eitherOrder(add, [&](Value f, Value one) {
    if (!isScalar(one, 1.0))
      return false;
    if (auto erf = singleUse<ErfOp>(f))
      if (Value x = scaledForErf(erf.getInput()))
        found = GeluBracket{x, "none"};
    if (auto tanh = singleUse<TanhOp>(f))
      if (Value x = tanhArgument(tanh.getInput()))
        found = GeluBracket{x, "tanh"};
    return found.has_value();
  });
  return found;
}

/// x * 0.5 * bracket, with the three factors multiplied in any order and
/// association.
struct RaiseGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32Tensor(op))
      return failure();
    SmallVector<Value, 4> factors;
    for (Value v : {op.getLhs(), op.getRhs()}) {
      if (auto inner = singleUse<MulOp>(v)) {
        factors.push_back(inner.getLhs());
        factors.push_back(inner.getRhs());
      } else {
        factors.push_back(v);
      }
    }
    if (factors.size() != 3)
      return failure();
    for (int b = 0; b < 3; ++b) {
      std::optional<GeluBracket> bracket = matchBracket(factors[b]);
      if (!bracket)
        continue;
      Value p = factors[(b + 1) % 3], q = factors[(b + 2) % 3];
      bool halfAndX = (isScalar(p, 0.5) && q == bracket->x) ||
                      (isScalar(q, 0.5) && p == bracket->x);
      if (!halfAndX || bracket->x.getType() != op.getType())
        return failure();
      rewriter.replaceOpWithNewOp<GeluOp>(
          op, op.getType(), bracket->x,
          rewriter.getStringAttr(bracket->approximate));
      return success();
    }
    return failure();
  }
};

struct KilnRaiseGeluPass : kiln::impl::KilnRaiseGeluBase<KilnRaiseGeluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseGelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
