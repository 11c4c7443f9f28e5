//===- CpuFeatures.cpp - The kernel ISA this CPU can run ------------------===//

#include "kernels/CpuFeatures.h"

#include <atomic>

namespace kiln {

namespace {

// -1 until resolved; a plain int so no C++ runtime guard is needed.
std::atomic<int> resolvedIsa{-1};

} // namespace

bool cpuSupports(MatmulIsa isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (isa) {
  case MatmulIsa::Avx512:
    return __builtin_cpu_supports("avx512f");
  case MatmulIsa::Avx2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case MatmulIsa::Generic:
    return true;
  }
  return false;
#else
  return isa == MatmulIsa::Generic;
#endif
}

MatmulIsa bestMatmulIsa() {
  int isa = resolvedIsa.load(std::memory_order_relaxed);
  if (isa < 0) {
    MatmulIsa best = cpuSupports(MatmulIsa::Avx512) ? MatmulIsa::Avx512
                     : cpuSupports(MatmulIsa::Avx2) ? MatmulIsa::Avx2
                                                    : MatmulIsa::Generic;
    isa = static_cast<int>(best);
    resolvedIsa.store(isa, std::memory_order_relaxed);
  }
  return static_cast<MatmulIsa>(isa);
}

} // namespace kiln
