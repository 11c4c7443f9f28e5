//===- RaiseSilu.cpp - x * sigmoid(x) -> kiln.silu ------------------------===//
#include "passes/Passes.h"
#include "passes/RaisingMatchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISESILU
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::raising;

namespace {

struct RaiseSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    if (!isF32Tensor(op))
      return failure();
    Value x;
    eitherOrder(op, [&](Value a, Value s) {
      auto sigmoid = singleUse<SigmoidOp>(s);
      return sigmoid && sigmoid.getInput() == a && (x = a);
    });
    if (!x || x.getType() != op.getType())
      return failure();
    rewriter.replaceOpWithNewOp<SiluOp>(op, op.getType(), x);
    return success();
  }
};

struct KilnRaiseSiluPass : kiln::impl::KilnRaiseSiluBase<KilnRaiseSiluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseSilu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
