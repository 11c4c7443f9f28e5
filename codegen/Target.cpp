//===- Target.cpp - The lowering to linalg shared by the targets ----------===//
#include "codegen/Target.h"
#include "passes/Pipelines.h"

using namespace mlir;

llvm::StringRef kiln::gemmOperandTypeFor(llvm::StringRef precision) {
  if (precision == "fp16")
    return "f16";
  if (precision == "bf16")
    return "bf16";
  return {};
}

LogicalResult kiln::lowerToLinalg(ModuleOp module, const Target &target,
                                  bool verbose) {
  std::string prelude;
  prelude = target.hasInt8GemmKernel()
                ? "func.func(kiln-fuse-qlinear-siblings),"
                : "func.func(kiln-expand-quantized),";
  if (llvm::StringRef type = target.gemmOperandType(); !type.empty())
    prelude += ("kiln-mixed-precision{type=" + type + "},").str();
  std::string options = "attention-kernel=" + target.attentionKernel().str();
  if (StringRef acts = target.gemmEpilogueActivations(); !acts.empty())
    options += " epilogue-activations=" + acts.str();
  if (target.hasInt8GemmKernel())
    options += " qlinear-kernel=1";
  if (target.hasNormKernel())
    options += " norm-kernel=1";
  if (target.checksIndices())
    options += " index-checks=1";
  if (target.kvCacheViews())
    options += " kv-cache-views=1";
  return runPassPipeline(module,
                         "kiln-outline-symbol-inference," + prelude +
                             "kiln-lower-to-linalg{" + options +
                             "},canonicalize,cse",
                         verbose);
}
