//===- ParallelCalls.h - Convention between the two parallel-loop passes --===//
//
// kiln-outline-parallel-loops moves a loop nest into a private function
//   __kiln_par_N(index begin, index end, index grain, captures...)
// that runs items [begin, end) of its flattened outer loops, and calls it
// once for the whole range. After conversion to the LLVM dialect,
// kiln-lower-parallel-calls replaces that call by
//   kiln_rt_parallel_for(begin, end, grain, __kiln_par_N_task, &captures)
// where the task unpacks the captures and calls __kiln_par_N on its chunk.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_PARALLELCALLS_H
#define KILN_CODEGEN_CPU_PARALLELCALLS_H

namespace mlir::kiln {
inline constexpr char kParallelBodyPrefix[] = "__kiln_par_";
} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_PARALLELCALLS_H
