//===- MemrefCopyToLinalg.cpp - Device copies run as kernels --------------===//
#include "codegen/cuda/Passes.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCUDAMEMREFCOPYTOLINALG
#include "codegen/cuda/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnCudaMemrefCopyToLinalgPass
    : kiln::impl::KilnCudaMemrefCopyToLinalgBase<
          KilnCudaMemrefCopyToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) { copies.push_back(op); });
    for (memref::CopyOp op : copies) {
      OpBuilder b(op);
      linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
      op.erase();
    }
  }
};
} // namespace
