//===- RuntimeCalls.cpp - Calling runtime kernels from bufferized code ----===//
#include "codegen/RuntimeCalls.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;

MemRefType kiln::fullyDynamicMemRef(unsigned rank, Type elem) {
  SmallVector<int64_t> dyn(rank, ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(elem.getContext(), ShapedType::kDynamic, dyn);
  return MemRefType::get(dyn, elem, layout);
}

func::FuncOp kiln::declareRuntimeFunction(ModuleOp module, StringRef name,
                                          TypeRange argTypes) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(argTypes, {}));
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return f;
}

std::optional<int32_t> kiln::runtimeActivationCode(StringRef activation) {
  return llvm::StringSwitch<std::optional<int32_t>>(activation)
      .Case("none", 0)
      .Case("relu", 1)
      .Case("gelu", 2)
      .Case("gelu_tanh", 3)
      .Case("silu", 4)
      .Default(std::nullopt);
}
