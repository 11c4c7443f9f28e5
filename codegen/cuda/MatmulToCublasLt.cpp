//===- MatmulToCublasLt.cpp - GEMMs on device memrefs -> cuBLASLt calls ---===//
#include "codegen/GemmEpilogueMatch.h"
#include "codegen/GemmZeroing.h"
#include "codegen/RuntimeCalls.h"
#include "codegen/cuda/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCUDAMATMULTOCUBLASLT
#include "codegen/cuda/Passes.h.inc"
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

/// The KILN_CUDA_EPILOGUE_* flags (runtime/include/kiln/cuda.h) of an
/// epilogue that cuBLASLt can apply: bias, then ReLU or tanh-GELU.
std::optional<int32_t> epilogueCode(const kiln::GemmEpilogue &e) {
  std::optional<int32_t> act =
      llvm::StringSwitch<std::optional<int32_t>>(e.activation)
          .Case("none", 0)
          .Case("relu", 2)
          .Case("gelu_tanh", 4)
          .Default(std::nullopt);
  if (!act)
    return std::nullopt;
  return *act | (e.bias ? 1 : 0);
}

/// The runtime entry points' suffix for A and B of element type `ab` with an
/// f32 C: f32, or the f16 / bf16 operands of a mixed-precision GEMM (f32
/// accumulation and result; the runtime passes CUDA_R_16F / CUDA_R_16BF).
std::optional<StringRef> operandSuffix(Type ab) {
  if (ab.isF32())
    return StringRef("f32");
  if (ab.isF16())
    return StringRef("f16");
  if (ab.isBF16())
    return StringRef("bf16");
  return std::nullopt;
}

Type elementTypeOf(Value v) {
  return cast<MemRefType>(v.getType()).getElementType();
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
    for (linalg::LinalgOp op : matmuls)
      if (op.hasPureBufferSemantics() && op.getNumDpsInputs() == 2)
        rewrite(op, *code);
  }

  /// Replaces `op` (and the epilogue generic after it, if cuBLASLt can apply
  /// it) by a runtime call, if its types are ones the runtime takes.
  void rewrite(linalg::LinalgOp op, int32_t precisionFlag) {
    ModuleOp module = getOperation();
    Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1],
          c = op.getDpsInits()[0];
    Type ab = elementTypeOf(a);
    std::optional<StringRef> suffix = operandSuffix(ab);
    if (!suffix || elementTypeOf(b) != ab || !elementTypeOf(c).isF32())
      return;
    unsigned rank = cast<MemRefType>(c.getType()).getRank();
    // With the output's zeroing right before, cuBLASLt overwrites it
    // (beta = 0) and the zeroing goes; otherwise it accumulates.
    Operation *zeroing = kiln::zeroingFor(op, c);
    std::optional<kiln::GemmEpilogue> epilogue;
    std::optional<int32_t> epilogueFlags;
    // The epilogue needs a non-empty contraction: an empty one leaves
    // cuBLASLt nothing to apply it to.
    int64_t k = cast<MemRefType>(b.getType()).getDimSize(rank - 2);
    if (rank == 2 && zeroing && !ShapedType::isDynamic(k) && k > 0)
      epilogue = kiln::findGemmEpilogue(op, c, zeroing);
    if (epilogue)
      epilogueFlags = epilogueCode(*epilogue);
    if (!epilogueFlags)
      epilogue.reset();

    // With an epilogue the call takes its place: its output may be
    // allocated after the matmul.
    OpBuilder builder(epilogue ? epilogue->generic.getOperation()
                               : op.getOperation());
    Location loc = op.getLoc();
    Type f32 = builder.getF32Type();
    SmallVector<Value> args;
    auto addMemRef = [&](Value v, Type elem) {
      MemRefType type = kiln::fullyDynamicMemRef(
          cast<MemRefType>(v.getType()).getRank(), elem);
      args.push_back(v.getType() == type ? v
                                         : (Value)memref::CastOp::create(
                                               builder, loc, type, v));
    };
    auto addI32 = [&](int32_t value) {
      args.push_back(arith::ConstantIntOp::create(builder, loc, value, 32));
    };
    addMemRef(a, ab);
    addMemRef(b, ab);
    std::string callee;
    if (epilogue) {
      // kiln_cuda_linear_*(a, b, bias, d, epilogue, precision): d =
      // epilogue(a * b + bias). Without a bias an empty one stands in.
      callee = ("kiln_cuda_linear_" + *suffix).str();
      addMemRef(epilogue->bias ? epilogue->bias
                               : (Value)memref::AllocaOp::create(
                                     builder, loc, MemRefType::get({0}, f32)),
                f32);
      addMemRef(epilogue->output, f32);
      addI32(*epilogueFlags);
      addI32(precisionFlag);
    } else {
      // kiln_cuda_[batch_]matmul_*(a, b, c, precision, accumulate).
      callee = ((rank == 2 ? "kiln_cuda_matmul_" : "kiln_cuda_batch_matmul_") +
                *suffix)
                   .str();
      addMemRef(c, f32);
      addI32(precisionFlag);
      addI32(zeroing ? 0 : 1);
    }
    func::FuncOp decl = kiln::declareRuntimeFunction(
        module, callee, ValueRange(args).getTypes());
    func::CallOp::create(builder, loc, decl, args);
    if (zeroing && zeroing != op)
      zeroing->erase();
    if (epilogue)
      kiln::eraseGemmAndEpilogue(op, *epilogue, c);
    else
      op->erase();
  }
};

} // namespace
