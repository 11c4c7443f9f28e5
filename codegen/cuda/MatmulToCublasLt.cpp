//===- MatmulToCublasLt.cpp - f32 matmuls -> cuBLASLt calls
//----------------===//
#include "codegen/GemmZeroing.h"
#include "codegen/RuntimeCalls.h"
#include "passes/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCUDAMATMULTOCUBLASLT
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// KILN_CUDA_PRECISION_* of runtime/include/kiln/cuda.h.
std::optional<int32_t> precisionCode(StringRef name) {
  return llvm::StringSwitch<std::optional<int32_t>>(name)
      .Case("fp32", 0)
      .Case("fp16", 1)
      .Case("bf16", 2)
      .Case("tf32", 3)
      .Default(std::nullopt);
}

struct KilnCudaMatmulToCublasLtPass
    : kiln::impl::KilnCudaMatmulToCublasLtBase<KilnCudaMatmulToCublasLtPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<int32_t> code = precisionCode(precision);
    if (!code) {
      module.emitError() << "unknown precision '" << precision
                         << "' (expected fp16, bf16, tf32 or fp32)";
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> matmuls;
    module.walk([&](Operation *op) {
      if (auto mm = dyn_cast<linalg::MatmulOp>(op);
          mm && !mm.hasUserDefinedMaps())
        matmuls.push_back(mm);
      if (auto bm = dyn_cast<linalg::BatchMatmulOp>(op);
          bm && !bm.hasUserDefinedMaps())
        matmuls.push_back(bm);
    });
    Type f32 = Float32Type::get(&getContext());
    for (linalg::LinalgOp op : matmuls) {
      if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2)
        continue;
      SmallVector<Value> operands = {op.getDpsInputs()[0], op.getDpsInputs()[1],
                                     op.getDpsInits()[0]};
      if (!llvm::all_of(operands, [](Value v) {
            return cast<MemRefType>(v.getType()).getElementType().isF32();
          }))
        continue;
      unsigned rank = cast<MemRefType>(operands[2].getType()).getRank();
      MemRefType argType = kiln::fullyDynamicMemRef(rank, f32);
      OpBuilder b(op);
      Location loc = op.getLoc();
      SmallVector<Value> args;
      for (Value v : operands)
        args.push_back(v.getType() == argType
                           ? v
                           : (Value)memref::CastOp::create(b, loc, argType, v));
      args.push_back(arith::ConstantIntOp::create(b, loc, *code, 32));
      // With the output's zeroing right before, cuBLASLt overwrites it
      // (beta = 0) and the zeroing goes; otherwise it accumulates.
      Operation *zeroing = kiln::zeroingFor(op, operands[2]);
      args.push_back(arith::ConstantIntOp::create(b, loc, zeroing ? 0 : 1, 32));
      StringRef callee =
          rank == 2 ? "kiln_cuda_matmul_f32" : "kiln_cuda_batch_matmul_f32";
      func::FuncOp decl = kiln::declareRuntimeFunction(
          module, callee, ValueRange(args).getTypes());
      func::CallOp::create(b, loc, decl, args);
      if (zeroing && zeroing != op)
        zeroing->erase();
      op->erase();
    }
  }

};

} // namespace
