//===- RuntimeDir.h - Where the compiler finds the runtime ------*- C++ -*-===//
//
// Every artifact links the runtime archive and compiles its descriptor
// against the runtime's headers. They sit in one directory, the runtime dir,
// laid out alike in an install and in the build tree:
//
//   <runtime dir>/libkiln_runtime.a
//   <runtime dir>/libkiln_cuda_runtime.a    (builds with the CUDA backend)
//   <runtime dir>/include/kiln/*.h
//   <runtime dir>/aarch64/                  (a runtime dir for cpu:aarch64)
//
// The runtime of a cross target (kilnc --target=cpu:aarch64) is a runtime
// dir of its own in a folder of the host's, named after the instruction set
// (codegen/cpu/CpuArch.h); the build tree's links to the cross build's
// (scripts/build-aarch64.sh: build-aarch64/lib/kiln).
//
// An install puts it at <prefix>/lib/kiln; the build tree at
// <build>/lib/kiln (links to the built archives and runtime/include). As
// clang finds its resource directory, the compiler looks for it relative to
// its own executable, so an install can be moved or copied as a whole.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_RUNTIMEDIR_H
#define KILN_CODEGEN_RUNTIMEDIR_H

#include "llvm/ADT/StringRef.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct RuntimeDirSearch {
  /// The runtime dir found; empty when none was.
  std::string dir;
  /// Every directory looked at, in order.
  std::vector<std::string> tried;
  /// Whether the caller named the one directory tried.
  bool explicitDir = false;
  /// The folder searched for below each candidate ("aarch64"); empty for
  /// the build machine's runtime.
  std::string subdir;
};

/// The runtime dir: `explicitDir` when it is not empty; else, relative to
/// the running executable, <exe dir>/../lib/kiln (the install's layout);
/// else, for an executable inside the build tree only, the build tree's
/// <build>/lib/kiln. An executable outside the build tree never uses the
/// build tree's runtime. With a `subdir` (a cross target's runtime), the
/// candidates are that folder of each; `explicitDir` is taken as it is. A
/// directory counts when it holds libkiln_runtime.a and
/// include/kiln/runtime.h.
RuntimeDirSearch findRuntimeDir(llvm::StringRef explicitDir,
                                llvm::StringRef subdir = "");

/// The error for a failed search: what was looked for, where, and that
/// `optionName` (kilnc's --runtime-dir) names the directory, or that the
/// directory it named is not one.
std::string runtimeDirNotFoundMessage(const RuntimeDirSearch &search,
                                      llvm::StringRef optionName);

/// The files of a runtime dir.
std::string runtimeLibraryPath(llvm::StringRef dir);
std::string runtimeIncludePath(llvm::StringRef dir);

} // namespace mlir::kiln

#endif
