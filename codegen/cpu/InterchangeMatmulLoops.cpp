//===- InterchangeMatmulLoops.cpp - Columns innermost in loop matmuls -----===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNINTERCHANGEMATMULLOOPS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnInterchangeMatmulLoopsPass
    : kiln::impl::KilnInterchangeMatmulLoopsBase<
          KilnInterchangeMatmulLoopsPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
        return;
      // The f32 ones left here are odd cases (strided, accumulating) that
      // keep their order; the others are loops whatever their shape.
      for (Value in : op.getDpsInputs())
        if (getElementTypeOrSelf(in.getType()).isF32())
          return;
      ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, op);
      if (failed(generic))
        continue;
      // (.., i, j, k) -> (.., i, k, j).
      unsigned n = generic->getNumLoops();
      SmallVector<unsigned> order;
      for (unsigned d = 0; d + 2 < n; ++d)
        order.push_back(d);
      order.append({n - 1, n - 2});
      if (failed(linalg::interchangeGenericOp(rewriter, *generic, order)))
        return signalPassFailure();
    }
  }
};
} // namespace
