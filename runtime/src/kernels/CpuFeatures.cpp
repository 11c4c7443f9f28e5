//===- CpuFeatures.cpp - The kernel ISA this CPU can run ------------------===//

#include "kernels/CpuFeatures.h"

#include <atomic>

namespace kiln {

namespace {

// -1 until resolved; a plain int so no C++ runtime guard is needed.
std::atomic<int> resolvedIsa{-1};
std::atomic<int> resolvedInt8Isa{-1};

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

bool cpuSupports(Int8Isa isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (isa) {
  case Int8Isa::Avx512Vnni:
    // The flags x86/Int8GemmAvx512Vnni.cpp is compiled with.
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
  case Int8Isa::Avx2:
    return cpuSupports(MatmulIsa::Avx2);
  case Int8Isa::Generic:
    return true;
  }
  return false;
#else
  return isa == Int8Isa::Generic;
#endif
}

Int8Isa bestInt8Isa() {
  int isa = resolvedInt8Isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    Int8Isa best = cpuSupports(Int8Isa::Avx512Vnni) ? Int8Isa::Avx512Vnni
                   : cpuSupports(Int8Isa::Avx2)     ? Int8Isa::Avx2
                                                    : Int8Isa::Generic;
    isa = static_cast<int>(best);
    resolvedInt8Isa.store(isa, std::memory_order_relaxed);
  }
  return static_cast<Int8Isa>(isa);
}

MatmulIsa epilogueIsaFor(Int8Isa isa) {
  switch (isa) {
  case Int8Isa::Avx512Vnni:
    return MatmulIsa::Avx512;
  case Int8Isa::Avx2:
    return MatmulIsa::Avx2;
  case Int8Isa::Generic:
    break;
  }
  return MatmulIsa::Generic;
}

} // namespace kiln
