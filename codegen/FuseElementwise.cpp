//===- FuseElementwise.cpp - Fusion without reshape folding ---------------===//
#include "codegen/Passes.h"
#include "dialects/kiln/KilnDialect.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFUSEELEMENTWISE
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnFuseElementwisePass
    : kiln::impl::KilnFuseElementwiseBase<KilnFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *fused) {
          Operation *producer = fused->get().getDefiningOp();
          // A GEMM epilogue stays a generic of its own for the GEMM kernel
          // to absorb (kiln-linalg-to-microkernels).
          return producer && producer->hasOneUse() &&
                 !producer->hasAttr(kiln::kEpilogueAttr) &&
                 !fused->getOwner()->hasAttr(kiln::kEpilogueAttr);
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
