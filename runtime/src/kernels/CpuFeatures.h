//===- CpuFeatures.h - The kernel ISA this CPU can run ----------*- C++ -*-===//
//
// The x86 variants of the kernels are compiled for AVX2 and FMA or for
// AVX-512 and chosen per call from what the CPU supports, so the library
// itself still runs on any x86-64.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_CPUFEATURES_H
#define KILN_RUNTIME_KERNELS_CPUFEATURES_H

namespace kiln {

enum class MatmulIsa { Generic, Avx2, Avx512 };

// Best ISA this CPU and OS support; resolved once.
MatmulIsa bestMatmulIsa();
bool cpuSupports(MatmulIsa isa);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_CPUFEATURES_H
