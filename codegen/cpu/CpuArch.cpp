//===- CpuArch.cpp - The instruction sets of the CPU target ---------------===//
#include "codegen/cpu/CpuArch.h"

#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace mlir::kiln;

// Cores of the boards, phones and servers an edge artifact runs on, each a
// CPU LLVM's AArch64 backend schedules for. "generic" is Armv8.0-A with
// NEON, which every one of them runs.
static const llvm::StringRef kAarch64Cpus[] = {
    "generic",     "cortex-a53", "cortex-a55",  "cortex-a72",  "cortex-a76",
    "cortex-a78",  "cortex-x1",  "neoverse-n1", "neoverse-n2", "neoverse-v1",
    "neoverse-v2", "apple-m1",   "apple-m2"};

static const CpuArch kArchs[] = {
    {"x86_64", "", "", {}},
    {"aarch64", "aarch64-linux-gnu", "aarch64", kAarch64Cpus},
};

/// The entry for the build machine's own instruction set.
static const CpuArch *hostArch() {
  llvm::Triple host(llvm::sys::getDefaultTargetTriple());
  for (const CpuArch &arch : kArchs)
    if (arch.triple.empty() && host.getArchName() == arch.name)
      return &arch;
  static const CpuArch other = {"", "", "", {}};
  return &other;
}

const CpuArch *kiln::findCpuArch(llvm::StringRef name) {
  const CpuArch *host = hostArch();
  if (name.empty() || name == host->name)
    return host;
  for (const CpuArch &arch : kArchs)
    if (name == arch.name && !arch.triple.empty())
      return &arch;
  return nullptr;
}

std::string kiln::knownCpuTargetSpecs() {
  std::string specs = "cpu";
  const CpuArch *host = hostArch();
  if (!host->name.empty())
    specs += ", cpu:" + host->name.str();
  for (const CpuArch &arch : kArchs)
    if (!arch.triple.empty())
      specs += ", cpu:" + arch.name.str();
  return specs;
}

int64_t kiln::packedPanelColumns(llvm::StringRef triple) {
  llvm::Triple t(triple.empty() ? llvm::sys::getDefaultTargetTriple()
                                : triple.str());
  return t.isAArch64() ? 16 : 32;
}

std::string kiln::joinCpuNames(llvm::ArrayRef<llvm::StringRef> cpus) {
  std::string names;
  for (llvm::StringRef cpu : cpus)
    names += (names.empty() ? "" : ", ") + cpu.str();
  return names;
}
