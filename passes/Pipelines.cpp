//===- Pipelines.cpp - Pass pipelines on the Kiln dialect -----------------===//
#include "passes/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

LogicalResult kiln::runPassPipeline(ModuleOp module, llvm::StringRef pipeline,
                                    bool verbose) {
  PassManager pm(module->getName());
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    return module.emitError() << "internal error: bad pipeline " << pipeline;
  if (verbose)
    pm.enableTiming();
  return pm.run(module);
}

LogicalResult kiln::runRaisingPipeline(ModuleOp module, bool verbose) {
  return runPassPipeline(module,
                         "func.func(kiln-canonicalize-shapes,kiln-raise-gelu,"
                         "kiln-raise-silu,kiln-raise-layer-norm,"
                         "kiln-raise-rms-norm,kiln-raise-attention,"
                         "kiln-raise-rotary,kiln-raise-linear,"
                         "kiln-raise-quantized-linear)",
                         verbose);
}
