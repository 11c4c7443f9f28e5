//===- LinalgToMicrokernels.cpp - f32 matmuls -> runtime GEMM calls --------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLINALGTOMICROKERNELS
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// memref<?x..xf32, strided<[?, ..], offset: ?>>: one declaration serves
/// every layout.
MemRefType fullyDynamic(unsigned rank, Type elem) {
  MLIRContext *ctx = elem.getContext();
  SmallVector<int64_t> dyn(rank, ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(ctx, ShapedType::kDynamic, dyn);
  return MemRefType::get(dyn, elem, layout);
}

/// Whether `buf` holds only zeros when `at` runs: a zero fill of it comes
/// earlier in the same block, and every other op that may write it comes
/// after `at` (or is `at`). Any view of it makes the answer no. CSE merges
/// identical zeroed matmul inits, and bufferization then copies the one
/// zeroed buffer into each matmul's output, or lets the last matmul write it
/// in place.
bool zeroAt(Value buf, Operation *at) {
  if (!buf.getDefiningOp<memref::AllocOp>())
    return false;
  Block *block = at->getBlock();
  linalg::FillOp zeroFill;
  for (Operation *user : buf.getUsers()) {
    if (user == at || isa<memref::DimOp, memref::LoadOp>(user))
      continue;
    if (auto copy = dyn_cast<memref::CopyOp>(user);
        copy && copy.getSource() == buf && copy.getTarget() != buf)
      continue;
    auto fill = dyn_cast<linalg::FillOp>(user);
    if (fill && !zeroFill && fill->getBlock() == block &&
        fill->isBeforeInBlock(at) &&
        matchPattern(fill.getInputs()[0], m_AnyZeroFloat())) {
      zeroFill = fill;
      continue;
    }
    // Anything else may write it (or alias it): fine only after `at`.
    if (user->getBlock() != block || !at->isBeforeInBlock(user) ||
        !isa<linalg::LinalgOp, memref::DeallocOp>(user))
      return false;
  }
  return static_cast<bool>(zeroFill);
}

/// How `out` gets its zeros for `mm`: a zero fill of it, or a copy into it
/// from a zero buffer, right before `mm` (only pure ops, such as dims,
/// between), which the kernel makes dead; or `mm` itself when `out` already
/// holds zeros. Null when none.
Operation *zeroingFor(Operation *mm, Value out) {
  for (Operation *prev = mm->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(prev)) {
      if (fill.getOutputs()[0] == out &&
          matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
        return fill;
      break;
    }
    if (auto copy = dyn_cast<memref::CopyOp>(prev)) {
      if (copy.getTarget() == out && zeroAt(copy.getSource(), copy))
        return copy;
      break;
    }
    if (!isPure(prev))
      break;
  }
  return zeroAt(out, mm) ? mm : nullptr;
}

struct KilnLinalgToMicrokernelsPass
    : kiln::impl::KilnLinalgToMicrokernelsBase<KilnLinalgToMicrokernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> matmuls;
    module.walk([&](Operation *op) {
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
        matmuls.push_back(op);
    });
    for (Operation *op : matmuls) {
      auto lin = cast<linalg::LinalgOp>(op);
      if (!lin.hasPureBufferSemantics() || lin.getNumDpsInputs() != 2)
        continue;
      // Plain contractions only: no transposed or broadcast indexing maps.
      if (auto mm = dyn_cast<linalg::MatmulOp>(op); mm && mm.hasUserDefinedMaps())
        continue;
      if (auto bm = dyn_cast<linalg::BatchMatmulOp>(op);
          bm && bm.hasUserDefinedMaps())
        continue;
      Value a = lin.getDpsInputs()[0], w = lin.getDpsInputs()[1];
      Value c = lin.getDpsInits()[0];
      bool allF32 = llvm::all_of(ValueRange{a, w, c}, [](Value v) {
        return cast<MemRefType>(v.getType()).getElementType().isF32();
      });
      if (!allF32)
        continue;
      Operation *zeroing = zeroingFor(op, c);
      if (!zeroing)
        continue;
      unsigned rank = cast<MemRefType>(c.getType()).getRank();
      StringRef callee =
          rank == 2 ? "kiln_rt_matmul_f32" : "kiln_rt_batch_matmul_f32";
      MemRefType argType = fullyDynamic(rank, Float32Type::get(&getContext()));
      func::FuncOp decl = declare(module, callee, argType);
      OpBuilder b(op);
      SmallVector<Value> args;
      for (Value v : {a, w, c})
        args.push_back(
            v.getType() == argType
                ? v
                : (Value)memref::CastOp::create(b, op->getLoc(), argType, v));
      func::CallOp::create(b, op->getLoc(), decl, args);
      // The kernel overwrites c, so zeroing it right before is dead.
      if (zeroing != op)
        zeroing->erase();
      op->erase();
    }
  }

  func::FuncOp declare(ModuleOp module, StringRef name, MemRefType argType) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    auto f = func::FuncOp::create(
        b, module.getLoc(), name,
        b.getFunctionType({argType, argType, argType}, {}));
    f.setPrivate();
    f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return f;
  }
};

} // namespace
