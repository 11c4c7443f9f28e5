//===- Int8Packing.h - The layout of packed int8 weights --------*- C++ -*-===//
//
// kiln.qlinear's int8 weight [K, N] (per-column scales beside it) is packed
// by the compiler (codegen/cpu/LowerQuantizedLinear) into the layout the
// runtime's int8 GEMM reads (Int8Gemm.cpp); this header is the one
// definition of it, shared by both.
//
// Columns go in panels of kInt8Panel (16: one zmm of int32 accumulators),
// rows in groups of 4 (one vpdpbusd step), K padded to a multiple of 4 and N
// to a multiple of 16 with zeros:
//
//   byte (p * Kp / 4 + g) * 64 + j * 4 + r  =  w[4g + r, 16p + j]
//
// then, 4-byte aligned after the panels, int32 column sums over k of each
// padded column: the kernels quantize activations to uint8 with a zero
// point zp, and subtract zp * colsum[n] from the product.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_INT8PACKING_H
#define KILN_RUNTIME_KERNELS_INT8PACKING_H

#include <stdint.h>
#include <string.h>

namespace kiln::int8 {

constexpr int64_t kInt8Panel = 16;
constexpr int64_t kInt8Group = 4;

inline int64_t paddedK(int64_t k) { return (k + 3) / 4 * 4; }
inline int64_t panels(int64_t n) { return (n + kInt8Panel - 1) / kInt8Panel; }
/// Bytes of the panels, before the column sums.
inline int64_t panelBytes(int64_t k, int64_t n) {
  return panels(n) * kInt8Panel * paddedK(k);
}
/// Bytes of the whole packed weight.
inline int64_t packedBytes(int64_t k, int64_t n) {
  return panelBytes(k, n) + panels(n) * kInt8Panel * 4;
}

/// Packs the row-major [k, n] int8 weight `w` into `out`
/// (packedBytes(k, n) bytes, any alignment).
inline void pack(const int8_t *w, int64_t k, int64_t n, int8_t *out) {
  int64_t kp = paddedK(k), np = panels(n);
  memset(out, 0, size_t(packedBytes(k, n)));
  int8_t *sums = out + panelBytes(k, n);
  for (int64_t p = 0; p < np; ++p)
    for (int64_t j = 0; j < kInt8Panel && p * kInt8Panel + j < n; ++j) {
      int32_t sum = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        int8_t v = w[kk * n + p * kInt8Panel + j];
        out[(p * kp / 4 + kk / 4) * 64 + j * 4 + kk % 4] = v;
        sum += v;
      }
      memcpy(sums + 4 * (p * kInt8Panel + j), &sum, 4);
    }
}

/// w[kk, nn] read back from a packed weight.
inline int8_t unpack(const int8_t *packed, int64_t k, int64_t kk, int64_t nn) {
  int64_t p = nn / kInt8Panel, j = nn % kInt8Panel;
  return packed[(p * paddedK(k) / 4 + kk / 4) * 64 + j * 4 + kk % 4];
}

/// Column nn's sum from a packed weight.
inline int32_t columnSum(const int8_t *packed, int64_t k, int64_t n,
                         int64_t nn) {
  int32_t sum;
  memcpy(&sum, packed + panelBytes(k, n) + 4 * nn, 4);
  return sum;
}

} // namespace kiln::int8

#endif // KILN_RUNTIME_KERNELS_INT8PACKING_H
