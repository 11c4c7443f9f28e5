//===- ImportFuzzer.cpp - libFuzzer target: ONNX bytes -> LLVM IR ---------===//
//
// Feeds arbitrary bytes to the importer as a binary ONNX model and takes
// whatever imports through the compile library's steps (compiler/Compiler.h)
// up to LLVM IR: signature capture, Kiln -> linalg, bufferization and
// lowering to the LLVM dialect; then translation to an LLVM module and the
// LLVM verifier. A diagnostic is a normal outcome;
// a crash, a sanitizer report, a broken LLVM module, a hang or a huge
// allocation is a bug. Nothing is read from disk: the model's path does not
// exist, so external data always fails to open.
//
// Build and run: scripts/fuzz.sh (build-asan/test/fuzz/kiln-fuzz-import).
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"
#include "compiler/Registration.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>

using namespace mlir;

namespace {

/// A context is reused across inputs, since building one costs more than
/// most inputs; it is replaced now and then because it keeps every type,
/// attribute and weight blob it ever saw.
constexpr unsigned kRunsPerContext = 200;

DialectRegistry &registry() {
  static DialectRegistry *r = [] {
    auto *reg = new DialectRegistry;
    kiln::registerKilnDialects(*reg);
    return reg;
  }();
  return *r;
}

MLIRContext &context() {
  static std::unique_ptr<MLIRContext> ctx;
  static unsigned runs = 0;
  if (!ctx || ++runs % kRunsPerContext == 0) {
    ctx.reset(); // before the new one: peak memory of one context
    ctx = std::make_unique<MLIRContext>(registry(),
                                        MLIRContext::Threading::DISABLED);
    ctx->loadAllAvailableDialects();
    registerBuiltinDialectTranslation(*ctx);
    registerLLVMDialectTranslation(*ctx);
  }
  return *ctx;
}

/// Everything kilnc does up to and including LLVM IR, through the compile
/// library's steps; then the LLVM verifier.
void compileToLLVMIR(MLIRContext &ctx, llvm::StringRef bytes) {
  kiln::CompileOptions options;
  options.inputPath = "/nonexistent/kiln-fuzz/model.onnx";
  options.inputBytes = bytes;
  options.modelName = "fuzz";
  // Models that big are valid inputs, just not useful ones to fuzz with.
  options.maxWeightBytes = 64 << 20;
  options.targetOptions.optLevel = 0;
  options.targetOptions.cpu = "x86-64";
  kiln::Compilation compilation(ctx, options);
  if (failed(compilation.importModel()) ||
      failed(compilation.lowerToLinalg()) ||
      failed(compilation.lowerToLLVMDialect()))
    return;
  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> module =
      translateModuleToLLVMIR(compilation.module(), llvmCtx);
  if (!module)
    return;
  // Valid MLIR that lowers must give a valid LLVM module.
  if (llvm::verifyModule(*module, &llvm::errs()))
    abort();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  kiln::registerAllKilnPasses();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  compileToLLVMIR(ctx,
                  llvm::StringRef(reinterpret_cast<const char *>(data), size));
  return 0;
}
