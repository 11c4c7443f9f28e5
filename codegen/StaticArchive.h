//===- StaticArchive.h - kilnc --emit=static ------------------*- C++ -*-===//
//
// A static archive for a device that links one binary: lib<name>.a holds
// one relocatable object for the model (its code, descriptor and weights,
// partially linked into one) and every member of the runtime archive, so a
// product links the archive alone plus libc, libm, libpthread and libdl.
//
// The model's object exports one symbol, <name>_model_descriptor (the
// accessor the generated header declares); its functions, weights and
// kiln_model_descriptor are made local, so two models' archives link into
// one binary without clashing. Their runtime members are the same objects:
// the linker takes each from the first archive that defines it, which is
// only sound when both came from the same Kiln build.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_STATICARCHIVE_H
#define KILN_CODEGEN_STATICARCHIVE_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LLVM.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct TargetOptions;

/// Compiles and partially links `inputs` (the model's object, the
/// descriptor's C source, the weights' assembly) into `modelObject`, keeps
/// `exported` its only global definition, and writes `output` with it and
/// the members of options.runtimeDir's runtime archive. Deterministic: no
/// timestamps, owners or paths.
LogicalResult
writeStaticArchive(Location loc, const std::vector<std::string> &inputs,
                   const std::string &modelObject, const std::string &output,
                   const std::string &exported, const TargetOptions &options);

} // namespace mlir::kiln

#endif
