//===- CpuFeatures.h - The kernel ISA this CPU can run ----------*- C++ -*-===//
//
// The x86 variants of the kernels are compiled for AVX2 and FMA or for
// AVX-512 and chosen per call from what the CPU supports, so the library
// itself still runs on any x86-64. The int8 GEMM has levels of its own: its
// AVX-512 variant needs VNNI (vpdpbusd), which not every AVX-512 CPU has.
// So has the bf16 GEMM: AVX-512 (f32 FMAs on converted weights), AVX-512
// BF16 (vdpbf16ps), and AMX-BF16 (tdpbf16ps), which Linux lets a process use
// only once it has asked for it; and the int8 GEMM AMX-INT8 (tdpbusd) above
// VNNI, with the same permission.
//
// On aarch64 NEON is part of the base ISA, so its fp32 kernels (arm/) need no
// check; the int8 GEMM's dot-product variant (sdot) and the bf16 GEMM's BF16
// variant (bfdot) run where getauxval(AT_HWCAP) reports the extension.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_CPUFEATURES_H
#define KILN_RUNTIME_KERNELS_CPUFEATURES_H

namespace kiln {

enum class MatmulIsa { Generic, Avx2, Avx512, Neon };

// Best ISA this CPU and OS support; resolved once.
MatmulIsa bestMatmulIsa();
bool cpuSupports(MatmulIsa isa);

enum class Int8Isa { Generic, Avx2, Avx512Vnni, NeonDot, Amx };

// Best int8 GEMM ISA this CPU and OS support; resolved once.
Int8Isa bestInt8Isa();
bool cpuSupports(Int8Isa isa);
// The fp32 level whose epilogue (GemmEpilogue.h) an int8 variant calls.
MatmulIsa epilogueIsaFor(Int8Isa isa);

enum class Bf16Isa { Generic, Avx512, Avx512Bf16, Amx, NeonBf16, Avx2 };

// Best bf16 GEMM ISA this CPU and OS support; resolved once. Asking whether
// AMX is supported asks Linux for the AMX tile data state for the whole
// process (arch_prctl ARCH_REQ_XCOMP_PERM), once; a refusal leaves AVX-512
// BF16.
Bf16Isa bestBf16Isa();
bool cpuSupports(Bf16Isa isa);
// The fp32 level whose epilogue a bf16 variant calls.
MatmulIsa epilogueIsaFor(Bf16Isa isa);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_CPUFEATURES_H
