//===- ArtifactWriter.h - Object, descriptor and link step ------*- C++ -*-===//
#ifndef KILN_CODEGEN_ARTIFACTWRITER_H
#define KILN_CODEGEN_ARTIFACTWRITER_H

#include "codegen/ModelSignature.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct TargetOptions;

/// The clang that compiles and links artifacts: LLVM 22's, else clang-22 on
/// the PATH; an error naming `output` when there is none.
FailureOr<std::string> findClang(Location loc, llvm::StringRef output);

/// Runs `args` (the program first) and waits; an error saying `what` failed
/// when it exits non-zero. `verbose` prints the command first.
LogicalResult runCommand(Location loc, const std::vector<std::string> &args,
                         const llvm::Twine &what, bool verbose);

/// Links `objects` (inputs and options for the clang driver) with the
/// runtime of `options.runtimeDir` (codegen/RuntimeDir.h; found when
/// empty), and before it `runtimeLibraries` (a device target's runtime:
/// archive names in the runtime dir), into a shared library.
LogicalResult
linkSharedLibrary(Location loc, const std::vector<std::string> &objects,
                  const std::string &output, const TargetOptions &options,
                  const std::vector<std::string> &runtimeLibraries = {});

/// The host side of every target's artifact, from a module in the LLVM
/// dialect: weights externalized, the object emitted, the descriptor for
/// `target` written into `tmpDir`, all linked into `output` with the runtime
/// (and `runtimeLibraries`, archive names in the runtime dir, before it).
/// With options.staticArchive, `output` is a static archive instead
/// (codegen/StaticArchive.h).
LogicalResult
writeHostArtifact(ModuleOp module, const TargetOptions &options,
                  const ModelSignature &sig, const std::string &entry,
                  llvm::StringRef target, const std::string &tmpDir,
                  const std::string &output, uint64_t *weightBytes,
                  const std::vector<std::string> &runtimeLibraries = {});

} // namespace mlir::kiln

#endif
