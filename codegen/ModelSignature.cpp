//===- ModelSignature.cpp - What the runtime knows of a model -------------===//
#include "codegen/ModelSignature.h"
#include "dialects/kiln/Dtype.h"
#include "dialects/kiln/KilnDialect.h"
#include "dialects/kiln/KilnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::kiln;

FailureOr<ModelSignature>
mlir::kiln::captureSignature(ModuleOp module, const std::string &name) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func)
    return module.emitError() << "the module has no func.func @main";
  ModelSignature sig;
  sig.name = name;
  if (auto syms = func->getAttrOfType<ArrayAttr>(kSymbolsAttr))
    for (Attribute a : syms)
      sig.symbols.push_back(cast<StringAttr>(a).str());
  if (auto nonZero = func->getAttrOfType<ArrayAttr>(kNonZeroSymbolsAttr))
    for (Attribute a : nonZero)
      sig.nonZeroSymbols.push_back(cast<StringAttr>(a).str());
  auto collect = [&](unsigned i, Type t, DictionaryAttr attrs,
                     std::vector<TensorSignature> &out) -> LogicalResult {
    auto tt = cast<RankedTensorType>(t);
    TensorSignature ts;
    auto nameAttr = attrs ? attrs.getAs<StringAttr>(kNameAttr) : StringAttr();
    ts.name = nameAttr ? nameAttr.str() : "t" + std::to_string(i);
    ts.dtype = dtypeForElementType(tt.getElementType());
    if (!ts.dtype)
      return func.emitError()
             << "tensor '" << ts.name << "' has element type "
             << tt.getElementType() << ", which the C API cannot carry";
    auto dims = attrs ? attrs.getAs<AffineMapAttr>(kDimsAttr) : AffineMapAttr();
    if (!dims)
      return func.emitError() << "tensor '" << ts.name << "' has no kiln.dims";
    for (AffineExpr e : dims.getValue().getResults())
      ts.dims.push_back(e);
    out.push_back(ts);
    return success();
  };
  SmallVector<DictionaryAttr> argAttrs, resAttrs;
  func.getAllArgAttrs(argAttrs);
  func.getAllResultAttrs(resAttrs);
  for (auto [i, t] : llvm::enumerate(func.getArgumentTypes()))
    if (failed(collect(i, t, i < argAttrs.size() ? argAttrs[i] : nullptr,
                       sig.inputs)))
      return failure();
  for (auto [i, t] : llvm::enumerate(func.getResultTypes()))
    if (failed(collect(i, t, i < resAttrs.size() ? resAttrs[i] : nullptr,
                       sig.outputs)))
      return failure();
  func.walk([&](BindSymbolsOp op) {
    llvm::append_range(sig.dataSymbols, op.getSymbols());
    sig.symbolChecks.push_back(op.getCheck().str());
  });
  return sig;
}

void mlir::kiln::computeSymbolMinimums(ModelSignature &sig) {
  sig.symbolMin.assign(sig.symbols.size(), 1);
  std::vector<bool> onlyPastLength(sig.symbols.size(), true);
  std::vector<bool> bound(sig.symbols.size(), false);
  for (auto [i, t] : llvm::enumerate(sig.inputs))
    for (auto [d, e] : llvm::enumerate(t.dims)) {
      auto s = dyn_cast<AffineSymbolExpr>(e);
      if (!s)
        continue;
      bound[s.getPosition()] = true;
      bool isPast = llvm::any_of(sig.kvPairs, [&](const KvCachePair &p) {
        return p.input == i && p.axis == (int64_t)d;
      });
      if (!isPast)
        onlyPastLength[s.getPosition()] = false;
    }
  for (unsigned k : sig.dataSymbols)
    bound[k] = true;
  for (size_t k = 0; k < sig.symbols.size(); ++k)
    if (bound[k] && onlyPastLength[k] &&
        !llvm::is_contained(sig.nonZeroSymbols, sig.symbols[k]))
      sig.symbolMin[k] = 0;
}

bool mlir::kiln::dependsOnData(const ModelSignature &sig, AffineExpr e) {
  bool found = false;
  e.walk([&](AffineExpr sub) {
    if (auto s = dyn_cast<AffineSymbolExpr>(sub))
      found |= llvm::is_contained(sig.dataSymbols, s.getPosition());
  });
  return found;
}
