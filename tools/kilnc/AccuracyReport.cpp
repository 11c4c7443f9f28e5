//===- AccuracyReport.cpp - kilnc --accuracy-report -----------------------===//
#include "tools/kilnc/AccuracyReport.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// kiln-run beside kilnc: in the same directory (an install) or in the
/// build tree's tools/kiln-run.
static std::string findKilnRun(const char *argv0) {
  std::string self = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&findKilnRun));
  llvm::StringRef dir = llvm::sys::path::parent_path(self);
  for (std::string candidate :
       {(dir + "/kiln-run").str(), (dir + "/../kiln-run/kiln-run").str()})
    if (llvm::sys::fs::can_execute(candidate))
      return candidate;
  return "";
}

int mlir::kiln::writeAccuracyReport(const CompileOptions &variant,
                                    const CompileResult &result,
                                    const std::string &inputsDir,
                                    const char *argv0) {
  std::string kilnRun = findKilnRun(argv0);
  if (kilnRun.empty()) {
    llvm::errs() << "kilnc: error: --accuracy-report needs kiln-run beside "
                    "kilnc\n";
    return 1;
  }
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("kilnc-accuracy", dir)) {
    llvm::errs() << "kilnc: error: cannot create a temporary directory\n";
    return 1;
  }
  mlir::kiln::CompileOptions fp32 = variant;
  fp32.quantize.clear();
  fp32.quantizeExclude.clear();
  fp32.targetOptions.precision.clear();
  fp32.kvCacheType.clear();
  fp32.outputPath = (dir + "/libreference.so").str();
  fp32.modelName.clear();
  llvm::errs() << "kilnc: compiling the fp32 reference for the accuracy "
                  "report\n";
  mlir::kiln::CompileResult reference = mlir::kiln::compileModel(fp32);
  if (!reference.succeeded()) {
    for (const auto &d : reference.diagnostics)
      llvm::errs() << "kilnc: " << d.message << "\n";
    return 1;
  }
  std::string report = result.output + ".accuracy.json";
  std::vector<std::string> args = {kilnRun,       result.output,
                                   "--reference", fp32.outputPath,
                                   "--report",    report};
  // The report names no temporary path: the same compile, the same file.
  args.insert(args.end(), {"--reference-name", "fp32"});
  if (inputsDir.empty()) {
    // An empty past: a decoder's random inputs then agree whatever its
    // export calls the total length (random pasts of 16 and a mask of 16
    // fail a legacy GPT-2's checked gathers).
    args.insert(args.end(), {"--default-dim", "16", "--past-length", "0"});
  } else {
    args.push_back("--inputs");
    args.push_back(inputsDir);
  }
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(kilnRun, argRefs, std::nullopt, {}, 0, 0,
                                     &error);
  llvm::sys::fs::remove_directories(dir);
  if (rc != 0) {
    llvm::errs() << "kilnc: error: the accuracy run failed"
                 << (error.empty() ? "" : ": " + error) << "\n";
    return 1;
  }
  llvm::errs() << "kilnc: accuracy report written to " << report << "\n";
  return 0;
}
