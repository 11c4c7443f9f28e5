//===- ConsoleReporter.cpp - A compile's progress and diagnostics on stderr
//===//
#include "compiler/ConsoleReporter.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include <sys/resource.h>

using namespace mlir;
using namespace mlir::kiln;

static double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

ConsoleReporter::ConsoleReporter(std::string tool, bool quiet, bool verbose)
    : tool(std::move(tool)), quiet(quiet), verbose(verbose),
      created(std::chrono::steady_clock::now()) {}

/// A step that failed after its diagnostics: no time, but no line left open
/// either.
ConsoleReporter::~ConsoleReporter() {
  if (open && !quiet && !verbose && !broken)
    llvm::errs() << "failed\n";
}

void ConsoleReporter::stepStarted(llvm::StringRef step) {
  stepFinished();
  if (!quiet)
    llvm::errs() << "[" << tool << "] " << step << " ..."
                 << (verbose ? "\n" : " ");
  what = step.str();
  stepStart = std::chrono::steady_clock::now();
  open = true;
  broken = false;
}

void ConsoleReporter::stepFinished() {
  if (!open || quiet)
    return;
  if (broken && !verbose)
    llvm::errs() << "[" << tool << "] " << what << ": ";
  llvm::errs() << llvm::format("%.2f s\n", secondsSince(stepStart));
  open = false;
}

void ConsoleReporter::interrupt() {
  if (open && !quiet && !verbose && !broken)
    llvm::errs() << "\n";
  broken = true;
}

void ConsoleReporter::diagnostic(const CompileDiagnostic &d) {
  if (quiet && d.severity != DiagnosticSeverity::Error)
    return;
  interrupt();
  llvm::errs() << tool << ": "
               << (d.severity == DiagnosticSeverity::Error     ? "error"
                   : d.severity == DiagnosticSeverity::Warning ? "warning"
                                                               : "note")
               << ": " << d.message << "\n";
  for (const std::string &note : d.notes)
    llvm::errs() << tool << ": note: " << note << "\n";
}

void ConsoleReporter::keptIntermediateFiles(llvm::StringRef dir) {
  llvm::errs() << "[" << tool << "] intermediate files kept in " << dir << "\n";
}

void ConsoleReporter::summary(const CompileResult &result) {
  if (quiet || result.header.empty())
    return;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::string written = result.output;
  if (!result.weightsFile.empty())
    written += ", " + result.weightsFile;
  llvm::errs() << llvm::format(
      "[%s] wrote %s and %s: %.1f MB of weights, %.2f s, peak RSS %.0f MB\n",
      tool.c_str(), written.c_str(), result.header.c_str(),
      result.weightBytes / 1e6, secondsSince(created),
      usage.ru_maxrss / 1024.0);
  // The edge footprint (docs/edge.md): what a device must hold.
  llvm::errs() << "[" << tool << "] footprint: artifact "
               << result.artifactBytes << " B, weights " << result.weightBytes
               << " B, peak arena ";
  if (result.peakArenaBytes)
    llvm::errs() << *result.peakArenaBytes << " B";
  else if (!result.arenaUnbounded.empty())
    llvm::errs() << "unbounded (give --max-shape for "
                 << llvm::join(result.arenaUnbounded, ", ") << ")";
  else
    llvm::errs() << "unknown";
  if (result.memoryPlanned && result.unplannedBuffers)
    llvm::errs() << ", " << result.unplannedBuffers
                 << " intermediate buffer(s) outside the plan (allocated at "
                    "run time)";
  else if (result.memoryPlanned)
    llvm::errs() << ", every intermediate planned";
  llvm::errs() << "\n";
}
