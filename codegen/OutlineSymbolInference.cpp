//===- OutlineSymbolInference.cpp - Data symbols in a function of their own
//===//
#include "codegen/Passes.h"
#include "dialects/kiln/KilnOps.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNOUTLINESYMBOLINFERENCE
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

/// Erases the ops of `func` that nothing uses and that have no effect.
static void eraseDeadOps(func::FuncOp func) {
  Block &body = func.getBody().front();
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (isOpTriviallyDead(&op))
      op.erase();
}

static Value i64Scalar(OpBuilder &b, Location loc, int64_t v) {
  auto type = RankedTensorType::get({}, b.getI64Type());
  return ConstantOp::create(
      b, loc, type,
      cast<ElementsAttr>(DenseElementsAttr::get(type, b.getI64IntegerAttr(v))));
}

/// Makes `inference` return the bound values and the status.
static LogicalResult buildInferenceReturn(func::FuncOp inference) {
  SmallVector<BindSymbolsOp> binds;
  inference.walk([&](BindSymbolsOp op) { binds.push_back(op); });
  auto ret = cast<func::ReturnOp>(inference.getBody().front().getTerminator());
  OpBuilder b(ret);
  Location loc = inference.getLoc();
  SmallVector<Value> parts;
  int64_t next = -1, total = 0;
  for (BindSymbolsOp bind : binds) {
    for (int64_t s : bind.getSymbols()) {
      if (next >= 0 && s != next)
        return bind.emitOpError()
               << "binds symbol " << s << " where " << next
               << " was expected: data symbols must follow each other";
      next = s + 1;
    }
    if (!bind.getSymbols().empty())
      parts.push_back(bind.getResult());
    total += bind.getSymbols().size();
  }
  auto valuesType = RankedTensorType::get({total}, b.getI64Type());
  Value values;
  if (parts.size() == 1)
    values = parts[0];
  else if (parts.empty())
    values = ConstantOp::create(b, loc, valuesType,
                                cast<ElementsAttr>(DenseElementsAttr::get(
                                    valuesType, ArrayRef<int64_t>{})));
  else
    values =
        ConcatOp::create(b, loc, valuesType, parts, b.getI64IntegerAttr(0));
  // The first failing binding wins: build from the last one back.
  Value status = i64Scalar(b, loc, 0);
  for (int64_t j = binds.size() - 1; j >= 0; --j)
    status = WhereOp::create(b, loc, status.getType(), binds[j].getValid(),
                             status, i64Scalar(b, loc, j + 1));
  func::ReturnOp::create(b, loc, ValueRange{values, status});
  ret.erase();
  inference.setType(FunctionType::get(inference.getContext(),
                                      inference.getArgumentTypes(),
                                      {values.getType(), status.getType()}));
  MLIRContext *ctx = inference.getContext();
  auto noSymbols = AffineMap::get(0, 0, ctx);
  inference.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
  static const char *const names[] = {"symbols", "status"};
  for (auto [i, name] : llvm::enumerate(names)) {
    inference.setResultAttr(i, kNameAttr, StringAttr::get(ctx, name));
    AffineMap dims =
        i == 0 ? AffineMap::get(0, 0, getAffineConstantExpr(total, ctx))
               : noSymbols;
    inference.setResultAttr(i, kDimsAttr, AffineMapAttr::get(dims));
  }
  return success();
}

namespace {
struct KilnOutlineSymbolInferencePass
    : kiln::impl::KilnOutlineSymbolInferenceBase<
          KilnOutlineSymbolInferencePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal())
      return;
    SmallVector<BindSymbolsOp> binds;
    main.walk([&](BindSymbolsOp op) { binds.push_back(op); });
    if (binds.empty())
      return;

    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(main);
    auto inference = cast<func::FuncOp>(b.clone(*main));
    inference.setSymName("main_symbols");
    inference->setAttr(kSymbolInferenceAttr, b.getUnitAttr());
    if (failed(buildInferenceReturn(inference)))
      return signalPassFailure();
    eraseDeadOps(inference);

    SmallVector<int64_t> dataSymbols;
    for (BindSymbolsOp bind : binds) {
      llvm::append_range(dataSymbols, bind.getSymbols());
      bind.getResult().replaceAllUsesWith(bind.getValues());
      bind.erase();
    }
    main->setAttr(kDataSymbolsAttr, b.getDenseI64ArrayAttr(dataSymbols));
    eraseDeadOps(main);
  }
};
} // namespace
