//===- CpuPipeline.cpp - linalg on tensors -> LLVM dialect for the CPU ----===//
#include "codegen/cpu/CpuPipeline.h"
#include "codegen/cpu/CpuArch.h"
#include "passes/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

/// Gives every use of a linalg.copy, linalg.fill or tensor.empty result its
/// own op: the lowering makes them only as fresh destinations. CSE merges
/// the equal ones of different ops; eliminate-empty-tensors may then write
/// one op's result straight into a function output while another op's
/// result, bufferized into the same output, is still to be read (two
/// ReduceMax of one shape, one with keepdims, returned each other's values;
/// so did two ScatterND of one data tensor).
static void unshareInits(ModuleOp module) {
  auto unshare = [](Operation *op) {
    SmallVector<OpOperand *> uses;
    for (OpOperand &use : op->getResult(0).getUses())
      uses.push_back(&use);
    for (OpOperand *use : llvm::drop_begin(uses)) {
      OpBuilder b(use->getOwner());
      use->set(b.clone(*op)->getResult(0));
    }
  };
  SmallVector<Operation *> copies, fills, empties;
  module.walk([&](Operation *op) {
    if (op->getNumResults() != 1)
      return;
    if (isa<linalg::CopyOp>(op))
      copies.push_back(op);
    else if (isa<linalg::FillOp>(op))
      fills.push_back(op);
    else if (isa<tensor::EmptyOp>(op))
      empties.push_back(op);
  });
  // Outermost first: the clones share their destination, unshared next.
  for (auto *ops : {&copies, &fills, &empties})
    for (Operation *op : *ops)
      unshare(op);
}

LogicalResult kiln::lowerLinalgToLLVMDialect(ModuleOp module,
                                             const TargetOptions &options) {
  std::string loops = options.parallelLoops
                          ? "convert-linalg-to-parallel-loops,"
                            "kiln-outline-parallel-loops,"
                          : "convert-linalg-to-loops,";
  std::string lowerCalls =
      options.parallelLoops ? ",kiln-lower-parallel-calls" : "";
  if (failed(runPassPipeline(module, "kiln-fuse-elementwise,canonicalize,cse",
                             options.verbose)))
    return failure();
  unshareInits(module);
  if (failed(runPassPipeline(
          module,
          "eliminate-empty-tensors,one-shot-bufferize,kiln-linalg-to-"
          "microkernels{panel-columns=" +
              std::to_string(packedPanelColumns(options.triple)) +
              "},kiln-interchange-matmul-loops,"
              "buffer-deallocation-pipeline,func.func(kiln-plan-memory)," +
              loops + "kiln-approximate-math",
          options.verbose)))
    return failure();
  if (options.afterMemoryPlan && failed(options.afterMemoryPlan(module)))
    return failure();
  // Without AVX512-BF16, LLVM lowers an f32 -> bf16 truncation to a call of
  // __truncsfbf2, which Debian 12's libgcc lacks: the artifact would not
  // load. Integer arithmetic (round to nearest even, NaN kept) instead.
  bool hasBf16 = false;
  module.walk([&](Operation *op) {
    if (isa<arith::TruncFOp, arith::ExtFOp>(op) &&
        (getElementTypeOrSelf(op->getResult(0)).isBF16() ||
         getElementTypeOrSelf(op->getOperand(0)).isBF16()))
      hasBf16 = true;
  });
  if (hasBf16) {
    RewritePatternSet patterns(module.getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return module.emitError() << "internal error: bf16 expansion failed";
  }
  return runPassPipeline(
      module,
      "kiln-expand-shape-to-reinterpret-cast,expand-strided-metadata,"
      "lower-affine,"
      "convert-scf-to-cf,canonicalize,convert-math-to-llvm,"
      // Aligned allocation: the arena asks the runtime for exactly the
      // planned bytes (a session's own arena holds just those), where the
      // plain form asks for the alignment on top and aligns by hand.
      "convert-math-to-libm,finalize-memref-to-llvm{use-generic-"
      "functions=1 use-aligned-alloc=1},"
      "convert-to-llvm,reconcile-unrealized-casts" +
          lowerCalls,
      options.verbose);
}
