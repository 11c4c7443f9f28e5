//===- CallResultsInPlace.cpp - Runtime calls writing outputs -------------===//
#include "codegen/CallResultsInPlace.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

void kiln::writeCallResultsInPlace(func::FuncOp func) {
  // The lowering leaves dims of results it did not need: dead uses that
  // would hide a buffer's single one.
  for (bool erased = true; erased;) {
    erased = false;
    func.walk([&](Operation *op) {
      if (isOpTriviallyDead(op)) {
        op->erase();
        erased = true;
      }
    });
  }
  SmallVector<bufferization::MaterializeInDestinationOp> stores;
  func.walk([&](bufferization::MaterializeInDestinationOp m) {
    stores.push_back(m);
  });
  for (auto store : stores) {
    auto dest = dyn_cast<BlockArgument>(store.getDest());
    auto destType = dest ? dyn_cast<MemRefType>(dest.getType()) : MemRefType();
    if (!destType || destType.getRank() == 0 ||
        !destType.getLayout().isIdentity() ||
        llvm::any_of(dest.getUsers(), [&](Operation *user) {
          return user != store && !isa<memref::DimOp>(user);
        }))
      continue;
    // Through reshapes, each the only use of its operand, to the buffer.
    Value v = store.getSource();
    SmallVector<Operation *> chain;
    while (v.hasOneUse()) {
      Operation *def = v.getDefiningOp();
      if (!isa_and_present<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
        break;
      chain.push_back(def);
      v = def->getOperand(0);
    }
    auto toTensor = v.getDefiningOp<bufferization::ToTensorOp>();
    if (!toTensor || !v.hasOneUse())
      continue;
    auto alloc = toTensor.getBuffer().getDefiningOp<memref::AllocOp>();
    if (!alloc || alloc.getType().getRank() == 0 ||
        alloc.getType().getElementType() != destType.getElementType() ||
        !alloc.getType().getLayout().isIdentity())
      continue;
    // The output argument viewed in the buffer's shape: collapsed to 1-D
    // (an identity layout always is), then expanded with the buffer's sizes.
    MemRefType allocType = alloc.getType();
    OpBuilder b(alloc);
    Location loc = alloc.getLoc();
    auto allDims = [](int64_t rank) {
      ReassociationIndices all;
      for (int64_t d = 0; d < rank; ++d)
        all.push_back(d);
      return SmallVector<ReassociationIndices>{all};
    };
    Value view = dest;
    if (destType != allocType && destType.getRank() != 1)
      view = memref::CollapseShapeOp::create(b, loc, dest,
                                             allDims(destType.getRank()));
    if (view.getType() != allocType && allocType.getRank() != 1)
      view = memref::ExpandShapeOp::create(b, loc, allocType.getShape(), view,
                                           allDims(allocType.getRank()),
                                           alloc.getMixedSizes());
    if (view.getType() != allocType)
      view = memref::CastOp::create(b, loc, allocType, view);
    alloc.replaceAllUsesWith(view);
    alloc.erase();
    store.erase();
    for (Operation *op : chain)
      if (op->use_empty())
        op->erase();
    if (toTensor.use_empty())
      toTensor.erase();
  }
}
