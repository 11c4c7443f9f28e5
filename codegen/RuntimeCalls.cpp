//===- RuntimeCalls.cpp - Calling runtime kernels from bufferized code ----===//
#include "codegen/RuntimeCalls.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;

MemRefType kiln::fullyDynamicMemRef(unsigned rank, Type elem) {
  SmallVector<int64_t> dyn(rank, ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(elem.getContext(), ShapedType::kDynamic, dyn);
  return MemRefType::get(dyn, elem, layout);
}

Value kiln::emptyRuntimeOperand(OpBuilder &b, Location loc, Type elem) {
  return memref::CastOp::create(
      b, loc, fullyDynamicMemRef(1, elem),
      memref::AllocaOp::create(b, loc, MemRefType::get({0}, elem)));
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
