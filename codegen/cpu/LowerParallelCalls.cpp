//===- LowerParallelCalls.cpp - Outlined loop nests -> kiln_rt_parallel_for
//===//
#include "codegen/cpu/ParallelCalls.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLOWERPARALLELCALLS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

struct LowerParallelCalls
    : kiln::impl::KilnLowerParallelCallsBase<LowerParallelCalls> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<LLVM::CallOp> calls;
    module.walk([&](LLVM::CallOp call) {
      std::optional<StringRef> callee = call.getCallee();
      if (callee && callee->starts_with(kiln::kParallelBodyPrefix))
        calls.push_back(call);
    });
    for (LLVM::CallOp call : calls)
      if (failed(lower(module, call)))
        return signalPassFailure();
  }

  LogicalResult lower(ModuleOp module, LLVM::CallOp call) {
    MLIRContext *ctx = &getContext();
    Location loc = call.getLoc();
    OpBuilder b(ctx);
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64), i32 = IntegerType::get(ctx, 32);
    ValueRange operands = call.getArgOperands();
    if (operands.size() < 3 || operands[0].getType() != i64)
      return call.emitOpError("parallel body call with unexpected operands");
    ValueRange captures = operands.drop_front(3);
    SmallVector<Type> fields(captures.getTypes());
    auto frameType = LLVM::LLVMStructType::getLiteral(ctx, fields);

    // The task: unpacks the frame and runs the body on [begin, end).
    StringRef bodyName = *call.getCallee();
    b.setInsertionPointToEnd(module.getBody());
    auto taskType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                                {ptrType, i64, i64, i32});
    auto task = LLVM::LLVMFuncOp::create(b, loc, (bodyName + "_task").str(),
                                         taskType, LLVM::Linkage::Internal);
    Block *entry = task.addEntryBlock(b);
    b.setInsertionPointToStart(entry);
    SmallVector<Value> args = {entry->getArgument(1), entry->getArgument(2),
                               LLVM::ConstantOp::create(b, loc, i64, 1)};
    for (auto [i, type] : llvm::enumerate(fields)) {
      Value slot =
          LLVM::GEPOp::create(b, loc, ptrType, frameType, entry->getArgument(0),
                              ArrayRef<LLVM::GEPArg>{0, (int32_t)i});
      args.push_back(LLVM::LoadOp::create(b, loc, type, slot));
    }
    LLVM::CallOp::create(b, loc, TypeRange{}, bodyName, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});

    // The frame lives in the caller's entry block, so that a call inside a
    // loop does not grow the stack.
    auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
    b.setInsertionPointToStart(&caller.getBody().front());
    Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
    Value frame = LLVM::AllocaOp::create(b, loc, ptrType, frameType, one);
    b.setInsertionPoint(call);
    for (auto [i, value] : llvm::enumerate(captures)) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, frameType, frame,
                                       ArrayRef<LLVM::GEPArg>{0, (int32_t)i});
      LLVM::StoreOp::create(b, loc, value, slot);
    }
    FailureOr<LLVM::LLVMFuncOp> parallelFor = LLVM::lookupOrCreateFn(
        b, module, "kiln_rt_parallel_for", {i64, i64, i64, ptrType, ptrType},
        LLVM::LLVMVoidType::get(ctx));
    if (failed(parallelFor))
      return failure();
    Value taskAddress = LLVM::AddressOfOp::create(b, loc, task);
    LLVM::CallOp::create(
        b, loc, *parallelFor,
        ValueRange{operands[0], operands[1], operands[2], taskAddress, frame});
    call.erase();
    return success();
  }
};

} // namespace
