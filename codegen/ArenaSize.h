//===- ArenaSize.h - The planned arena's size at the shape bounds -*- C++
//-*-===//
//
// kiln-plan-memory sizes a call's arena at entry from the dims of the
// arguments (codegen/Passes.td). At the --max-shape bounds that formula is a
// number: the peak arena, which kilnc reports and --max-arena-bytes checks
// against a device's memory.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_ARENASIZE_H
#define KILN_CODEGEN_ARENASIZE_H

#include "codegen/ModelSignature.h"
#include "mlir/IR/BuiltinOps.h"
#include <optional>
#include <string>
#include <vector>

namespace mlir::kiln {

struct PeakArena {
  /// The arena's bytes with every symbol at its maximum; unset when a
  /// symbol it depends on is unbounded, or the formula has an op the
  /// evaluator does not know. 0 when the function has no arena.
  std::optional<uint64_t> bytes;
  /// The unbounded symbols the size depends on (give them --max-shape).
  std::vector<std::string> unbounded;
  /// Buffers of the module that kiln-plan-memory left out (inside parallel
  /// loops, sized from data, escaping): allocated at run time, beyond the
  /// arena. 0 when the plan is complete.
  int64_t unplannedBuffers = 0;
};

/// The arena of `entry` (kiln-plan-memory's alloc, marked kiln.arena), its
/// size evaluated with each symbol of `sig` at its symbolMax. `entry`'s
/// arguments are the signature's inputs, then its outputs. Buffers the plan
/// leaves out are counted apart, not in the bytes.
PeakArena peakArenaBytes(ModuleOp module, const ModelSignature &sig,
                         llvm::StringRef entry);

} // namespace mlir::kiln

#endif
