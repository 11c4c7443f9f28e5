//===- TileStoreAvx512.h - A finished f32 GEMM tile to c ------*- C++ -*-===//
//
// The epilogue of the register-tiled f32-accumulating GEMMs (bf16 in
// x86/Bf16TilesAvx512.h, int4 in x86/Int4GemmAvx512.cpp): a tile of Rows x
// (Panels * 16) accumulators plus the bias goes to c, masked at the last
// columns, then the activation runs over it. Compiled into each including
// file (anonymous namespace), for its flags.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_X86_TILESTOREAVX512_H
#define KILN_RUNTIME_KERNELS_X86_TILESTOREAVX512_H

#include <immintrin.h>
#include <stdint.h>

namespace kiln {
namespace {

constexpr int kTilePanel = 16;

// The first `cols` lanes of a panel (none for cols <= 0).
inline __mmask16 columnMask(int64_t cols) {
  return cols >= kTilePanel ? __mmask16(0xffff)
                            : __mmask16((1u << (cols > 0 ? cols : 0)) - 1);
}

// Rows x (Panels * 16) accumulators to c at row m, column n0 (the columns
// that exist of them), each plus the bias; then the activation. `Problem`
// has n, bias (n floats or null), c with strides scm and scn, and the
// activation alone (activation, activationFn).
template <int Rows, int Panels, typename Problem>
__attribute__((always_inline)) inline void
storeTile(const Problem &p, int64_t m, int64_t n0,
          __m512 (&acc)[Rows][Panels]) {
  const int64_t cols =
      p.n - n0 < Panels * kTilePanel ? p.n - n0 : Panels * kTilePanel;
  __mmask16 mask[Panels];
  __m512 bias[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    mask[c] = columnMask(cols - kTilePanel * c);
    bias[c] = p.bias
                  ? _mm512_maskz_loadu_ps(mask[c], p.bias + n0 + kTilePanel * c)
                  : _mm512_setzero_ps();
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    float *row = p.c + (m + r) * p.scm + n0 * p.scn;
    if (p.scn == 1) {
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c)
        _mm512_mask_storeu_ps(row + kTilePanel * c, mask[c],
                              _mm512_add_ps(acc[r][c], bias[c]));
      continue;
    }
    alignas(64) float tmp[Panels * kTilePanel];
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      _mm512_store_ps(tmp + kTilePanel * c, _mm512_add_ps(acc[r][c], bias[c]));
    for (int64_t j = 0; j < cols; ++j)
      row[j * p.scn] = tmp[j];
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

} // namespace
} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_X86_TILESTOREAVX512_H
