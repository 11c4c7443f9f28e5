//===- KvCacheType.cpp - A decode graph's KV cache in bf16 or f8 ---------===//
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/KvCachePairs.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNKVCACHETYPE
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct KilnKvCacheTypePass
    : kiln::impl::KilnKvCacheTypeBase<KilnKvCacheTypePass> {
  using KilnKvCacheTypeBase::KilnKvCacheTypeBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    Type narrow;
    if (elementType == "bf16")
      narrow = BFloat16Type::get(ctx);
    else if (elementType == "f8e4m3fn")
      narrow = Float8E4M3FNType::get(ctx);
    else {
      func.emitError() << "kiln-kv-cache-type: type '" << elementType
                       << "' is not supported (bf16 and f8e4m3fn are)";
      return signalPassFailure();
    }
    SmallVector<KvCachePair> pairs = findKvCachePairs(func);
    if (pairs.empty())
      return;
    Type wide = Float32Type::get(ctx);
    Block &entry = func.getBody().front();
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    SmallVector<Type> inputs(func.getArgumentTypes());
    SmallVector<Type> results(func.getResultTypes());
    OpBuilder b(ctx);
    for (const KvCachePair &p : pairs) {
      BlockArgument past = entry.getArgument(p.input);
      auto pastType = cast<RankedTensorType>(past.getType());
      Value present = ret.getOperand(p.output);
      auto presentType = cast<RankedTensorType>(present.getType());
      if (pastType.getElementType() != wide)
        continue;
      past.setType(pastType.clone(narrow));
      b.setInsertionPointToStart(&entry);
      auto widened = CastOp::create(b, past.getLoc(), pastType, past);
      past.replaceAllUsesExcept(widened, widened);
      b.setInsertionPoint(ret);
      auto stored = CastOp::create(b, present.getLoc(),
                                   presentType.clone(narrow), present);
      ret.setOperand(p.output, stored);
      inputs[p.input] = past.getType();
      results[p.output] = stored.getType();
      ++numPairs;
    }
    func.setType(FunctionType::get(ctx, inputs, results));
  }
};

} // namespace
