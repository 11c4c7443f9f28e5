//===- Registration.cpp - The dialects and passes Kiln's tools load -------===//
#include "compiler/Registration.h"
#include "codegen/Passes.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cuda/Passes.h"
#include "dialects/kiln/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include <mutex>

void mlir::kiln::registerKilnDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<KilnDialect>();
}

void mlir::kiln::registerAllKilnPasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    registerKilnPasses();
    registerKilnCodegenPasses();
    registerKilnCpuPasses();
    registerKilnCudaPasses();
  });
}
