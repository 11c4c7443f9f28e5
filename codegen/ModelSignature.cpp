//===- ModelSignature.cpp - What the runtime knows of a model -------------===//
#include "codegen/ModelSignature.h"
#include "dialects/kiln/Dtype.h"
#include "dialects/kiln/KilnDialect.h"

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
  return sig;
}
