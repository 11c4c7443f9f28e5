//===- MatmulMicrokernels.h - Register-blocked fp32 GEMM tiles --*- C++ -*-===//
//
// A microkernel computes one MR x NR tile of C from packed panels:
//   A panel: kc steps of MR values (column k of the tile's rows),
//   B panel: kc steps of NR values (row k of the tile's columns),
// and stores it row-major at C with row stride ldc, adding to what is there
// when `accumulate` is set. Panels are 64-byte aligned and zero-padded, so
// the kernel has no edge cases; the driver handles partial tiles.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_MATMULMICROKERNELS_H
#define KILN_RUNTIME_KERNELS_MATMULMICROKERNELS_H

#include <stdint.h>

namespace kiln {

using MatmulTileFn = void (*)(int64_t kc, const float *a, const float *b,
                              float *c, int64_t ldc, bool accumulate);
/// The same tile with A read in place: MR rows `lda` floats apart, each
/// with kc contiguous values. Packing A would cost as much as a tenth of
/// the multiply at transformer sizes (each A block is packed again for
/// every column block); broadcasting from the rows costs the same loads.
using MatmulDirectTileFn = void (*)(int64_t kc, const float *a, int64_t lda,
                                    const float *b, float *c, int64_t ldc,
                                    bool accumulate);

struct MatmulMicrokernel {
  int32_t mr;
  int32_t nr;
  MatmulTileFn tile;
  MatmulDirectTileFn directTile; // null: A is always packed
};

// The largest MR * NR of any microkernel, for stack tiles.
constexpr int32_t kMaxTileElements = 8 * 32;

extern const MatmulMicrokernel kMatmulGeneric;
extern const MatmulMicrokernel kMatmulAvx2;
extern const MatmulMicrokernel kMatmulAvx512;
extern const MatmulMicrokernel kMatmulNeon;

#if defined(__x86_64__)
// The tiles of kMatmulAvx2 and kMatmulAvx512 (x86/GemmAvx2.cpp,
// x86/GemmAvx512.cpp), declared hidden like their definitions.
#pragma GCC visibility push(hidden)
void tileAvx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
              bool accumulate);
void tileAvx512(int64_t kc, const float *a, const float *b, float *c,
                int64_t ldc, bool accumulate);
void directTileAvx512(int64_t kc, const float *a, int64_t lda, const float *b,
                      float *c, int64_t ldc, bool accumulate);
#pragma GCC visibility pop
#endif
#if defined(__aarch64__)
// The tiles of kMatmulNeon (arm/GemmNeon.cpp).
#pragma GCC visibility push(hidden)
void tileNeon(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
              bool accumulate);
void directTileNeon(int64_t kc, const float *a, int64_t lda, const float *b,
                    float *c, int64_t ldc, bool accumulate);
#pragma GCC visibility pop
#endif

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_MATMULMICROKERNELS_H
