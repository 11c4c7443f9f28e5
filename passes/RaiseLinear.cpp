//===- RaiseLinear.cpp - MatMul + bias (+ activation) -> kiln.linear ------===//
#include "passes/Passes.h"
#include "passes/RaisingMatchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISELINEAR
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::raising;

namespace {

/// A matmul by a constant f32 [K, N] weight: what the CPU packs at compile
/// time and can run with an epilogue.
bool isWeightMatMul(MatMulOp mm) {
  auto w = dyn_cast<RankedTensorType>(mm.getRhs().getType());
  return mm && w && w.getRank() == 2 && w.hasStaticShape() &&
         isF32Tensor(mm.getRhs()) && isF32Tensor(mm.getLhs()) &&
         mm.getRhs().getDefiningOp<ConstantOp>();
}

/// matmul(x, w) + b with b a constant [N] => linear(x, w, b).
struct RaiseBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    MatMulOp mm;
    Value bias;
    eitherOrder(op, [&](Value m, Value b) {
      auto candidate = singleUse<MatMulOp>(m);
      auto bt = dyn_cast<RankedTensorType>(b.getType());
      if (!candidate || !isWeightMatMul(candidate) || !bt ||
          bt.getRank() != 1 || !isF32Tensor(b) ||
          !b.getDefiningOp<ConstantOp>() || m.getType() != op.getType() ||
          bt.getDimSize(0) !=
              cast<RankedTensorType>(candidate.getRhs().getType())
                  .getDimSize(1))
        return false;
      mm = candidate;
      bias = b;
      return true;
    });
    if (!mm)
      return failure();
    rewriter.replaceOpWithNewOp<LinearOp>(op, op.getType(), mm.getLhs(),
                                          mm.getRhs(), bias,
                                          rewriter.getStringAttr("none"));
    return success();
  }
};

/// act(linear(x, w, b)) or act(matmul(x, w)) => linear {activation}, also
/// through a reshape in between (act is elementwise, so it commutes with the
/// reshape).
template <typename ActOp> struct RaiseActivation : OpRewritePattern<ActOp> {
  using OpRewritePattern<ActOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(ActOp op,
                                PatternRewriter &rewriter) const override {
    StringRef act = activationName(op);
    if (act.empty() || !isF32Tensor(op.getResult()))
      return failure();
    Value in = op.getInput();
    auto reshape = singleUse<ReshapeOp>(in);
    if (reshape)
      in = reshape.getInput();
    Operation *producer = nullptr;
    Value x, w, bias;
    if (auto lin = singleUse<LinearOp>(in);
        lin && lin.getActivation() == "none") {
      producer = lin;
      x = lin.getInput();
      w = lin.getWeight();
      bias = lin.getBias();
    } else if (auto mm = singleUse<MatMulOp>(in); mm && isWeightMatMul(mm)) {
      producer = mm;
      x = mm.getLhs();
      w = mm.getRhs();
    }
    if (!producer)
      return failure();
    rewriter.setInsertionPoint(producer);
    Value y = LinearOp::create(rewriter, producer->getLoc(), in.getType(), x, w,
                               bias, rewriter.getStringAttr(act));
    if (reshape) {
      rewriter.setInsertionPoint(reshape);
      y = ReshapeOp::create(rewriter, reshape.getLoc(), reshape.getType(), y,
                            reshape.getShapeAttr());
    }
    rewriter.replaceOp(op, y);
    return success();
  }

  static StringRef activationName(ActOp op) {
    if constexpr (std::is_same_v<ActOp, GeluOp>)
      return op.getApproximate() == "tanh" ? "gelu_tanh" : "gelu";
    if constexpr (std::is_same_v<ActOp, ReluOp>)
      return "relu";
    if constexpr (std::is_same_v<ActOp, SiluOp>)
      return "silu";
    return "";
  }
};

struct KilnRaiseLinearPass
    : kiln::impl::KilnRaiseLinearBase<KilnRaiseLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseBias, RaiseActivation<GeluOp>, RaiseActivation<ReluOp>,
                 RaiseActivation<SiluOp>>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
