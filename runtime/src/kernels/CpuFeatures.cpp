//===- CpuFeatures.cpp - The kernel ISA this CPU can run ------------------===//

#include "kernels/CpuFeatures.h"

#include <atomic>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace kiln {

namespace {

// -1 until resolved; a plain int so no C++ runtime guard is needed.
std::atomic<int> resolvedIsa{-1};
std::atomic<int> resolvedInt8Isa{-1};
std::atomic<int> resolvedBf16Isa{-1};

#if defined(__x86_64__)
std::atomic<int> amxPermission{-1}; // -1 not asked yet, 0 refused, 1 granted

// CPUID leaf 7, subleaf `sub`: {ebx, ecx, edx, eax}. The flags that
// __builtin_cpu_supports may not know (libgcc's list is older than AMX).
bool cpuidLeaf7(unsigned sub, unsigned (&regs)[4]) {
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid_max(0, nullptr) < 7)
    return false;
  __cpuid_count(7, sub, eax, ebx, ecx, edx);
  regs[0] = ebx, regs[1] = ecx, regs[2] = edx, regs[3] = eax;
  return true;
}

bool hasAvx512Bf16() {
  unsigned regs[4];
  return cpuidLeaf7(1, regs) && (regs[3] & (1u << 5)); // EAX bit 5
}

bool hasAmxInt8() {
  unsigned regs[4];
  // EDX bit 25: AMX-INT8, bit 24: AMX-TILE.
  return cpuidLeaf7(0, regs) && (regs[2] & (1u << 25)) &&
         (regs[2] & (1u << 24));
}

bool hasAmxBf16() {
  unsigned regs[4];
  // EDX bit 22: AMX-BF16, bit 24: AMX-TILE.
  return cpuidLeaf7(0, regs) && (regs[2] & (1u << 22)) &&
         (regs[2] & (1u << 24));
}

// Linux enables the AMX tile data state (XFEATURE 18) only for processes
// that ask; the kernel refuses where it has no AMX support or a thread's
// signal stack is too small for the larger signal frame.
bool amxPermitted() {
  int state = amxPermission.load(std::memory_order_relaxed);
  if (state < 0) {
#if defined(__linux__)
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    state = syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0
                ? 1
                : 0;
#else
    state = 0;
#endif
    amxPermission.store(state, std::memory_order_relaxed);
  }
  return state == 1;
}
#endif

#if defined(__aarch64__)
// Whether Linux reports `bit` in the hwcap word `type` (HWCAP_ASIMDDP:
// sdot and udot; HWCAP2_BF16: bfdot and bfmmla).
bool hasHwcap(unsigned long type, unsigned long bit) {
#if defined(__linux__)
  return (getauxval(type) & bit) != 0;
#else
  (void)type, (void)bit;
  return false;
#endif
}
#endif

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
  case MatmulIsa::Neon:
    break;
  }
  return false;
#elif defined(__aarch64__)
  return isa == MatmulIsa::Generic || isa == MatmulIsa::Neon;
#else
  return isa == MatmulIsa::Generic;
#endif
}

MatmulIsa bestMatmulIsa() {
  int isa = resolvedIsa.load(std::memory_order_relaxed);
  if (isa < 0) {
    MatmulIsa best = cpuSupports(MatmulIsa::Avx512) ? MatmulIsa::Avx512
                     : cpuSupports(MatmulIsa::Avx2) ? MatmulIsa::Avx2
                     : cpuSupports(MatmulIsa::Neon) ? MatmulIsa::Neon
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
  case Int8Isa::Amx:
    // The AMX variant runs the VNNI kernels for what AMX does not take; its
    // file has the flags of both.
    return cpuSupports(Int8Isa::Avx512Vnni) && hasAmxInt8() && amxPermitted();
  case Int8Isa::Avx2:
    return cpuSupports(MatmulIsa::Avx2);
  case Int8Isa::Generic:
    return true;
  case Int8Isa::NeonDot:
    break;
  }
  return false;
#elif defined(__aarch64__)
  // arm/Int8GemmNeonDot.cpp is compiled with +dotprod.
  return isa == Int8Isa::Generic ||
         (isa == Int8Isa::NeonDot && hasHwcap(AT_HWCAP, HWCAP_ASIMDDP));
#else
  return isa == Int8Isa::Generic;
#endif
}

Int8Isa bestInt8Isa() {
  int isa = resolvedInt8Isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    Int8Isa best = cpuSupports(Int8Isa::Amx)          ? Int8Isa::Amx
                   : cpuSupports(Int8Isa::Avx512Vnni) ? Int8Isa::Avx512Vnni
                   : cpuSupports(Int8Isa::Avx2)       ? Int8Isa::Avx2
                   : cpuSupports(Int8Isa::NeonDot)    ? Int8Isa::NeonDot
                                                      : Int8Isa::Generic;
    isa = static_cast<int>(best);
    resolvedInt8Isa.store(isa, std::memory_order_relaxed);
  }
  return static_cast<Int8Isa>(isa);
}

MatmulIsa epilogueIsaFor(Int8Isa isa) {
  switch (isa) {
  case Int8Isa::Avx512Vnni:
  case Int8Isa::Amx:
    return MatmulIsa::Avx512;
  case Int8Isa::Avx2:
    return MatmulIsa::Avx2;
  case Int8Isa::NeonDot:
    return MatmulIsa::Neon;
  case Int8Isa::Generic:
    break;
  }
  return MatmulIsa::Generic;
}

bool cpuSupports(Bf16Isa isa) {
#if defined(__x86_64__)
  switch (isa) {
  case Bf16Isa::Amx:
    // The AMX variant runs the rows and shapes AMX does not take with the
    // AVX-512 BF16 one; its file has the flags of both.
    return cpuSupports(Bf16Isa::Avx512Bf16) && hasAmxBf16() && amxPermitted();
  case Bf16Isa::Avx512Bf16:
    // The flags x86/Bf16GemmAvx512Bf16.cpp is compiled with.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && hasAvx512Bf16();
  case Bf16Isa::Avx512:
    // x86/Bf16GemmAvx512.cpp is compiled with -mavx512f alone.
    return cpuSupports(MatmulIsa::Avx512);
  case Bf16Isa::Avx2:
    // x86/Bf16GemmAvx2.cpp: -mavx2 -mfma, as the fp32 AVX2 kernel.
    return cpuSupports(MatmulIsa::Avx2);
  case Bf16Isa::Generic:
    return true;
  case Bf16Isa::NeonBf16:
    break;
  }
  return false;
#elif defined(__aarch64__)
  // arm/Bf16GemmNeonBf16.cpp is compiled with +bf16.
  return isa == Bf16Isa::Generic ||
         (isa == Bf16Isa::NeonBf16 && hasHwcap(AT_HWCAP2, HWCAP2_BF16));
#else
  return isa == Bf16Isa::Generic;
#endif
}

Bf16Isa bestBf16Isa() {
  int isa = resolvedBf16Isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    Bf16Isa best = cpuSupports(Bf16Isa::Amx)          ? Bf16Isa::Amx
                   : cpuSupports(Bf16Isa::Avx512Bf16) ? Bf16Isa::Avx512Bf16
                   : cpuSupports(Bf16Isa::Avx512)     ? Bf16Isa::Avx512
                   : cpuSupports(Bf16Isa::Avx2)       ? Bf16Isa::Avx2
                   : cpuSupports(Bf16Isa::NeonBf16)   ? Bf16Isa::NeonBf16
                                                      : Bf16Isa::Generic;
    isa = static_cast<int>(best);
    resolvedBf16Isa.store(isa, std::memory_order_relaxed);
  }
  return static_cast<Bf16Isa>(isa);
}

MatmulIsa epilogueIsaFor(Bf16Isa isa) {
  if (isa == Bf16Isa::NeonBf16)
    return MatmulIsa::Neon;
  if (isa == Bf16Isa::Avx2)
    return MatmulIsa::Avx2;
  return isa == Bf16Isa::Generic ? MatmulIsa::Generic : MatmulIsa::Avx512;
}

} // namespace kiln
