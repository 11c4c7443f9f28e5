//===- ConsoleReporter.h - Compile progress and diagnostics -----*- C++ -*-===//
//
//   [kilnc] importing model.onnx ... 0.12 s
//   kilnc: error: node 'x': message
//
// Each step is one line with its time; a diagnostic during a step starts a
// line of its own, and the step's time follows on another.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_CONSOLEREPORTER_H
#define KILN_COMPILER_CONSOLEREPORTER_H

#include "compiler/Compiler.h"
#include <chrono>
#include <string>

namespace mlir::kiln {

class ConsoleReporter final : public CompileObserver {
public:
  /// `tool` prefixes every line. `quiet`: errors only. `verbose`: each step
  /// on a line of its own, for the pass timings and commands between.
  ConsoleReporter(std::string tool, bool quiet, bool verbose);
  ~ConsoleReporter() override;

  void stepStarted(llvm::StringRef what) override;
  void stepFinished() override;
  void diagnostic(const CompileDiagnostic &diagnostic) override;
  void keptIntermediateFiles(llvm::StringRef dir) override;

  /// The last line of a successful compile: what was written, the weights,
  /// the time since this reporter was made and the peak memory.
  void summary(const CompileResult &result);

private:
  /// Ends an open "step ..." line so that a diagnostic starts its own.
  void interrupt();

  std::string tool;
  bool quiet, verbose;
  std::chrono::steady_clock::time_point created, stepStart;
  std::string what;
  bool open = false, broken = false;
};

} // namespace mlir::kiln

#endif
