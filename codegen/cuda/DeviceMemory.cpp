//===- DeviceMemory.cpp - Host code of a CUDA module uses device memory ---===//
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCUDADEVICEMEMORY
#include "codegen/cuda/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

struct KilnCudaDeviceMemoryPass
    : kiln::impl::KilnCudaDeviceMemoryBase<KilnCudaDeviceMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    LLVM::LLVMFuncOp alloc = declare(module, "kiln_cuda_alloc", ptr, {i64});
    LLVM::LLVMFuncOp alignedAlloc =
        declare(module, "kiln_cuda_aligned_alloc", ptr, {i64, i64});
    LLVM::LLVMFuncOp freeFn =
        declare(module, "kiln_cuda_free", LLVM::LLVMVoidType::get(ctx), {ptr});
    LLVM::LLVMFuncOp constant =
        declare(module, "kiln_cuda_device_constant", ptr, {ptr, i64});
    llvm::StringMap<LLVM::LLVMFuncOp> replacement = {
        {"_mlir_memref_to_llvm_alloc", alloc},
        {"_mlir_memref_to_llvm_aligned_alloc", alignedAlloc},
        {"_mlir_memref_to_llvm_free", freeFn},
        {"malloc", alloc},
        {"free", freeFn}};

    DataLayout layout(module);
    SymbolTable symbols(module);
    module->walk<WalkOrder::PreOrder>([&](Operation *op) -> WalkResult {
      if (isa<gpu::GPUModuleOp>(op))
        return WalkResult::skip(); // device code keeps its own memory ops
      if (auto call = dyn_cast<LLVM::CallOp>(op)) {
        auto callee = call.getCallee();
        if (callee) {
          auto it = replacement.find(*callee);
          if (it != replacement.end())
            call.setCallee(it->second.getSymName());
        }
        return WalkResult::advance();
      }
      auto addr = dyn_cast<LLVM::AddressOfOp>(op);
      if (!addr)
        return WalkResult::advance();
      auto global = symbols.lookup<LLVM::GlobalOp>(addr.getGlobalName());
      // Tensor data only: the constant globals that memref.global became
      // hold elements (dense or dense_resource); strings for host calls
      // such as assertion messages stay host pointers.
      if (!global || !global.getConstant() ||
          !isa_and_nonnull<ElementsAttr>(global.getValueOrNull()) ||
          addr->getParentOfType<LLVM::GlobalOp>())
        return WalkResult::advance();
      uint64_t bytes = layout.getTypeSize(global.getGlobalType());
      OpBuilder b(ctx);
      b.setInsertionPointAfter(addr);
      Value size = LLVM::ConstantOp::create(b, addr.getLoc(), i64,
                                            b.getI64IntegerAttr(bytes));
      auto device = LLVM::CallOp::create(b, addr.getLoc(), constant,
                                         ValueRange{addr.getResult(), size});
      addr.getResult().replaceAllUsesExcept(device.getResult(), device);
      return WalkResult::advance();
    });
  }

  LLVM::LLVMFuncOp declare(ModuleOp module, StringRef name, Type result,
                           ArrayRef<Type> args) {
    if (auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      return f;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    return LLVM::LLVMFuncOp::create(b, module.getLoc(), name,
                                    LLVM::LLVMFunctionType::get(result, args));
  }
};

} // namespace
