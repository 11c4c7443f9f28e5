//===- ArenaSize.cpp - The planned arena's size at the shape bounds -------===//
#include "codegen/ArenaSize.h"
#include "dialects/kiln/SymbolicShape.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Evaluates index arithmetic computed at the function's entry: memref.dim
/// of an argument from the signature, anything else by folding the op with
/// its operands' values.
class Evaluator {
public:
  Evaluator(func::FuncOp func, const ModelSignature &sig, PeakArena &out)
      : func(func), sig(sig), out(out) {}

  std::optional<int64_t> get(Value v) {
    auto it = memo.find(v);
    if (it != memo.end())
      return it->second;
    memo[v] = std::nullopt; // an op folding to itself ends here
    std::optional<int64_t> value = compute(v);
    memo[v] = value;
    return value;
  }

private:
  std::optional<int64_t> compute(Value v) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return std::nullopt;
    if (auto dim = dyn_cast<memref::DimOp>(def))
      return argumentDim(dim);
    // Every operand, even after one fails: each names its unbounded symbols.
    SmallVector<Attribute> operands;
    bool known = true;
    for (Value operand : def->getOperands()) {
      std::optional<int64_t> value = get(operand);
      known = known && value;
      if (value)
        operands.push_back(IntegerAttr::get(operand.getType(), *value));
    }
    if (!known)
      return std::nullopt;
    SmallVector<OpFoldResult> results;
    if (failed(def->fold(operands, results)) ||
        results.size() != def->getNumResults())
      return std::nullopt;
    OpFoldResult result = results[cast<OpResult>(v).getResultNumber()];
    if (auto folded = dyn_cast<Value>(result))
      return get(folded);
    if (auto attr = dyn_cast_if_present<IntegerAttr>(cast<Attribute>(result)))
      return attr.getValue().getSExtValue();
    return std::nullopt;
  }

  std::optional<int64_t> argumentDim(memref::DimOp dim) {
    auto arg = dyn_cast<BlockArgument>(dim.getSource());
    std::optional<int64_t> index = dim.getConstantIndex();
    if (!arg || !index || arg.getOwner() != &func.getBody().front())
      return std::nullopt;
    unsigned n = arg.getArgNumber();
    const std::vector<TensorSignature> &list =
        n < sig.inputs.size() ? sig.inputs : sig.outputs;
    if (n >= sig.inputs.size())
      n -= sig.inputs.size();
    if (n >= list.size() || *index >= int64_t(list[n].dims.size()))
      return std::nullopt;
    AffineExpr expr = list[n].dims[*index];
    bool bounded = true;
    expr.walk([&](AffineExpr e) {
      auto sym = dyn_cast<AffineSymbolExpr>(e);
      if (!sym || sym.getPosition() >= sig.symbolMax.size() ||
          sig.symbolMax[sym.getPosition()] != INT64_MAX)
        return;
      bounded = false;
      const std::string &name = sig.symbols[sym.getPosition()];
      if (!llvm::is_contained(out.unbounded, name))
        out.unbounded.push_back(name);
    });
    if (!bounded)
      return std::nullopt;
    return evaluateSym(expr, sig.symbolMax);
  }

  func::FuncOp func;
  const ModelSignature &sig;
  PeakArena &out;
  llvm::DenseMap<Value, std::optional<int64_t>> memo;
};

} // namespace

PeakArena mlir::kiln::peakArenaBytes(ModuleOp module, const ModelSignature &sig,
                                     llvm::StringRef entry) {
  PeakArena peak;
  module.walk([&](memref::AllocOp alloc) {
    if (!alloc->hasAttr("kiln.arena"))
      ++peak.unplannedBuffers;
  });
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal()) {
    peak.bytes = 0;
    return peak;
  }
  Evaluator evaluator(func, sig, peak);
  uint64_t total = 0;
  bool known = true;
  func.walk([&](memref::AllocOp alloc) {
    if (!alloc->hasAttr("kiln.arena"))
      return;
    std::optional<int64_t> bytes =
        alloc.getDynamicSizes().empty()
            ? std::optional<int64_t>(alloc.getType().getNumElements())
            : evaluator.get(alloc.getDynamicSizes().front());
    if (bytes && *bytes >= 0)
      total += *bytes;
    else
      known = false;
  });
  if (known)
    peak.bytes = total;
  return peak;
}
