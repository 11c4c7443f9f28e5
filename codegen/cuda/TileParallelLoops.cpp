//===- TileParallelLoops.cpp - scf.parallel -> blocks x threads -----------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCUDATILEPARALLELLOOPS
#include "codegen/cuda/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnCudaTileParallelLoopsPass
    : kiln::impl::KilnCudaTileParallelLoopsBase<KilnCudaTileParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (getOperation().isExternal())
      return;
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
    wrapSerialWork();
  }

  /// Memory work outside any scf.parallel (a reduction over every dim, a
  /// rank-0 fill or copy) becomes a one-thread scf.parallel, so that it too
  /// runs as a kernel on device memory. Consecutive such ops, with the
  /// arithmetic between them, share one; a run whose values are used after
  /// it stays on the host (and the pipeline reports it).
  void wrapSerialWork() {
    auto touchesMemory = [](Operation *op) {
      bool memory = false, parallel = false;
      op->walk([&](Operation *inner) {
        memory |= isa<memref::LoadOp, memref::StoreOp>(inner);
        parallel |= isa<scf::ParallelOp>(inner);
      });
      return memory && !parallel;
    };
    Block &body = getOperation().getBody().front();
    SmallVector<Operation *> run;
    auto flush = [&] {
      while (!run.empty() && !touchesMemory(run.back()))
        run.pop_back();
      if (run.empty())
        return;
      llvm::SmallPtrSet<Operation *, 8> inRun(run.begin(), run.end());
      for (Operation *op : run)
        for (Operation *user : op->getUsers())
          if (!inRun.contains(body.findAncestorOpInBlock(*user))) {
            run.clear();
            return;
          }
      OpBuilder b(run.front());
      Location loc = run.front()->getLoc();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto single = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                            ValueRange{one}, ValueRange{one});
      for (Operation *op : run)
        op->moveBefore(single.getBody()->getTerminator());
      run.clear();
    };
    for (Operation &op : llvm::make_early_inc_range(body)) {
      bool memory =
          isa<memref::LoadOp, memref::StoreOp, scf::ForOp, scf::IfOp>(op) &&
          touchesMemory(&op);
      bool glue = !run.empty() && op.getNumRegions() == 0 &&
                  isa<arith::ArithDialect>(op.getDialect());
      if (memory || glue)
        run.push_back(&op);
      else
        flush();
    }
    flush();
  }
};
} // namespace
