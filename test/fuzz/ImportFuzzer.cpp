//===- ImportFuzzer.cpp - libFuzzer target: ONNX bytes -> LLVM IR ---------===//
//
// Feeds arbitrary bytes to the importer as a binary ONNX model and takes
// whatever imports through kilnc's pipeline up to LLVM IR: signature capture,
// Kiln -> linalg, bufferization and lowering to the LLVM dialect, translation
// to an LLVM module, and the LLVM verifier. A diagnostic is a normal outcome;
// a crash, a sanitizer report, a broken LLVM module, a hang or a huge
// allocation is a bug. Nothing is read from disk: the model's path does not
// exist, so external data always fails to open.
//
// Build and run: scripts/fuzz.sh (build-asan/test/fuzz/kiln-fuzz-import).
//
//===----------------------------------------------------------------------===//

#include "codegen/Target.h"
#include "compiler/onnx/ModelImporter.h"
#include "dialects/kiln/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
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
    registerAllDialects(*reg);
    registerAllExtensions(*reg);
    reg->insert<kiln::KilnDialect>();
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

/// Everything kilnc does after import, up to and including LLVM IR.
void compileToLLVMIR(ModuleOp m) {
  auto sig = kiln::captureSignature(m, "fuzz");
  if (failed(sig))
    return;
  kiln::TargetOptions options;
  options.optLevel = 0;
  options.cpu = "x86-64";
  std::string error;
  auto target = kiln::createTarget("cpu", options, error);
  if (!target)
    abort();
  if (failed(kiln::lowerKilnToLinalg(m, *target, /*verbose=*/false)))
    return;
  auto entry = m.lookupSymbol<func::FuncOp>("main");
  if (!entry)
    return;
  entry.setSymName("fuzz_main");
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(m.getContext()));
  entry.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
  if (failed(target->lowerToLLVMDialect(m)))
    return;
  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> module = translateModuleToLLVMIR(m, llvmCtx);
  if (!module)
    return;
  // Valid MLIR that lowers must give a valid LLVM module.
  if (llvm::verifyModule(*module, &llvm::errs()))
    abort();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registerAllPasses();
  kiln::registerKilnPasses();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  kiln::onnx_import::ImportOptions options;
  // Models that big are valid inputs, just not useful ones to fuzz with.
  options.maxWeightBytes = 64 << 20;
  auto module = kiln::onnx_import::importOnnxBuffer(
      ctx,
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "/nonexistent/kiln-fuzz/model.onnx", options);
  if (succeeded(module))
    compileToLLVMIR(**module);
  return 0;
}
