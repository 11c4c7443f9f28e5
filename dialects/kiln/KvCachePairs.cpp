//===- KvCachePairs.cpp - KV-cache pairs of a decode graph ----------------===//
#include "dialects/kiln/KvCachePairs.h"
#include "dialects/kiln/KilnOps.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
/// `v` without a kiln.cast in front of it.
Value throughCast(Value v) {
  if (auto c = v.getDefiningOp<CastOp>())
    return c.getInput();
  return v;
}
} // namespace

SmallVector<KvCachePair> mlir::kiln::findKvCachePairs(func::FuncOp func) {
  SmallVector<KvCachePair> pairs;
  if (func.isExternal())
    return pairs;
  Block &entry = func.getBody().front();
  auto ret = dyn_cast<func::ReturnOp>(entry.getTerminator());
  if (!ret)
    return pairs;
  llvm::SmallDenseSet<unsigned> taken;
  for (auto [j, v] : llvm::enumerate(ret.getOperands())) {
    auto concat = throughCast(v).getDefiningOp<ConcatOp>();
    if (!concat || concat.getInputs().size() < 2)
      continue;
    auto arg = dyn_cast<BlockArgument>(throughCast(concat.getInputs()[0]));
    auto type = dyn_cast<RankedTensorType>(v.getType());
    auto argType = arg ? dyn_cast<RankedTensorType>(arg.getType()) : nullptr;
    if (!arg || arg.getOwner() != &entry || !type || !argType ||
        argType.getElementType() != type.getElementType() ||
        argType.getEncoding() || !taken.insert(arg.getArgNumber()).second)
      continue;
    int64_t axis = concat.getAxis();
    if (axis < 0)
      axis += type.getRank();
    pairs.push_back({arg.getArgNumber(), unsigned(j), axis});
  }
  return pairs;
}
