//===- GemmZeroing.cpp - Finding the zeroing of a GEMM's output -----------===//
#include "codegen/GemmZeroing.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

/// Whether `buf` holds only zeros when `at` runs: a zero fill of it comes
/// earlier in the same block, and every other op that may write it comes
/// after `at` (or is `at`). Any view of it makes the answer no. CSE merges
/// identical zeroed matmul inits, and bufferization then copies the one
/// zeroed buffer into each matmul's output, or lets the last matmul write it
/// in place.
static bool zeroAt(Value buf, Operation *at) {
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
    // Anything else may write it (or make a view that does): fine only
    // after `at`, where it cannot change what `at` reads.
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!inBlock || !at->isBeforeInBlock(inBlock))
      return false;
  }
  return static_cast<bool>(zeroFill);
}

/// How `out` gets its zeros for `mm`: a zero fill of it, or a copy into it
/// from a zero buffer, right before `mm` (only pure ops, such as dims,
/// between), which the kernel makes dead; or `mm` itself when `out` already
/// holds zeros. Null when none.
Operation *mlir::kiln::zeroingFor(Operation *mm, Value out) {
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
