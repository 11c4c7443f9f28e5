//===- TileParallelLoops.cpp - scf.parallel -> blocks x threads -----------===//
#include "passes/Passes.h"

#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCUDATILEPARALLELLOOPS
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnCudaTileParallelLoopsPass
    : kiln::impl::KilnCudaTileParallelLoopsBase<
          KilnCudaTileParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize < 1) {
      getOperation().emitError() << "block-size must be >= 1";
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>())
        outermost.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp op : outermost) {
      unsigned rank = op.getNumLoops();
      if (rank > 1) {
        std::vector<unsigned> all(rank);
        for (unsigned i = 0; i < rank; ++i)
          all[i] = i;
        // The collapsed loop replaces `op`, after the ops computing its
        // bound: find it from the op before.
        Block *block = op->getBlock();
        Operation *prev = op->getPrevNode();
        rewriter.setInsertionPoint(op);
        collapseParallelLoops(rewriter, op, {all});
        Operation *it = prev ? prev->getNextNode() : &block->front();
        while (it && !isa<scf::ParallelOp>(it))
          it = it->getNextNode();
        if (!it) {
          getOperation().emitError() << "internal error: collapsed loop lost";
          return signalPassFailure();
        }
        op = cast<scf::ParallelOp>(it);
      }
      scf::tileParallelLoop(op, {blockSize}, /*noMinMaxBounds=*/true);
    }
  }
};
} // namespace
