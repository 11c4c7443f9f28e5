//===- Pipelines.h - Pass pipelines on the Kiln dialect ---------*- C++ -*-===//
#ifndef KILN_PASSES_PIPELINES_H
#define KILN_PASSES_PIPELINES_H

#include "mlir/IR/BuiltinOps.h"

namespace mlir::kiln {

/// Runs a textual pass pipeline (the body of a builtin.module pipeline);
/// with `verbose`, prints its pass timings. The passes must be registered
/// (compiler/Registration.h).
LogicalResult runPassPipeline(ModuleOp module, llvm::StringRef pipeline,
                              bool verbose);

/// The target-neutral passes from the imported Kiln IR to raised Kiln IR:
/// shape canonicalization, then the GELU, SiLU, LayerNorm, RMSNorm,
/// attention, rotary, linear+epilogue and quantized-linear raisings.
LogicalResult runRaisingPipeline(ModuleOp module, bool verbose);

} // namespace mlir::kiln

#endif
