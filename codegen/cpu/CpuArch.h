//===- CpuArch.h - The instruction sets of the CPU target -------*- C++ -*-===//
//
// The CPU target writes code for the build machine or, as a cross-compiler,
// for 64-bit Arm Linux (kilnc --target=cpu:aarch64). An instruction set is
// not a target of its own (codegen/Target.h): the same pipeline and runtime
// calls, with LLVM's backend for its triple, the CPU names kilnc takes for
// it, and the runtime built for it (codegen/RuntimeDir.h), whose kernels
// choose their variant at load time as on x86.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_CPUARCH_H
#define KILN_CODEGEN_CPU_CPUARCH_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <string>

namespace mlir::kiln {

struct CpuArch {
  /// The name after "cpu:" in a target spec.
  llvm::StringRef name;
  /// LLVM's and the linking clang's --target; empty for the build machine.
  llvm::StringRef triple;
  /// The runtime dir's folder holding this instruction set's runtime
  /// (libkiln_runtime.a, include/); empty: the runtime dir itself.
  llvm::StringRef runtimeSubdir;
  /// The --cpu names taken, the default first; empty: any LLVM CPU name,
  /// default the build machine's ("native").
  llvm::ArrayRef<llvm::StringRef> cpus;
};

/// The instruction set of the spec suffix `name` ("" is the build
/// machine's); null when Kiln knows no such name.
const CpuArch *findCpuArch(llvm::StringRef name);

/// The target specs of the CPU target, for an error: "cpu, cpu:x86_64, ...".
std::string knownCpuTargetSpecs();

/// Columns per panel of the f32 weights packed at compile time for code of
/// `triple` (empty: the build machine's): the runtime's KILN_RT_PACKED_PANEL
/// on that instruction set (runtime/src/kernels/Kernels.h).
int64_t packedPanelColumns(llvm::StringRef triple);

/// Joins `cpus` with ", ", for an error.
std::string joinCpuNames(llvm::ArrayRef<llvm::StringRef> cpus);

} // namespace mlir::kiln

#endif
