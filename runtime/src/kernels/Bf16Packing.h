//===- Bf16Packing.h - The layout of packed bf16 weights --------*- C++ -*-===//
//
// A bf16 GEMM weight [K, N] read from a constant (kilnc --precision=bf16) is
// packed by the compiler (codegen/cpu/LinalgToMicrokernels.cpp) into the
// layout the runtime's bf16 GEMM reads (Bf16Gemm.cpp); this header is the
// one definition of it, shared by both.
//
// Columns go in panels of kBf16Panel (16: one zmm of f32 accumulators),
// rows in pairs (one vdpbf16ps step multiplies a pair of each column), K
// padded to a multiple of kBf16KBlock (32) and N to a multiple of 16 with
// zeros:
//
//   element (p * Kp / 2 + g) * 32 + j * 2 + r  =  w[2g + r, 16p + j]
//
// Each pair of rows of a panel is then 64 bytes, the operand of one
// vdpbf16ps, and 16 consecutive pairs (32 rows of K) are 1 KiB in a row:
// the B tile of one AMX tdpbf16ps, loaded with a stride of 64 bytes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_BF16PACKING_H
#define KILN_RUNTIME_KERNELS_BF16PACKING_H

#include <stdint.h>
#include <string.h>

namespace kiln::bf16 {

constexpr int64_t kBf16Panel = 16;
/// K is padded to whole AMX tiles: 32 bf16 values (64 bytes) per tile row.
constexpr int64_t kBf16KBlock = 32;

inline int64_t paddedK(int64_t k) {
  return (k + kBf16KBlock - 1) / kBf16KBlock * kBf16KBlock;
}
inline int64_t panels(int64_t n) { return (n + kBf16Panel - 1) / kBf16Panel; }
/// Elements (uint16_t) between the starts of two panels.
inline int64_t panelElements(int64_t k) { return paddedK(k) * kBf16Panel; }
/// Elements of the whole packed weight.
inline int64_t packedElements(int64_t k, int64_t n) {
  return panels(n) * panelElements(k);
}

/// Packs the row-major [k, n] bf16 weight `w` (raw bits) into `out`
/// (packedElements(k, n) elements, any alignment).
inline void pack(const uint16_t *w, int64_t k, int64_t n, uint16_t *out) {
  memset(out, 0, size_t(packedElements(k, n)) * sizeof(uint16_t));
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t nn = 0; nn < n; ++nn) {
      int64_t p = nn / kBf16Panel, j = nn % kBf16Panel;
      out[p * panelElements(k) + (kk / 2) * 32 + j * 2 + kk % 2] =
          w[kk * n + nn];
    }
}

/// w[kk, nn] read back from a packed weight.
inline uint16_t unpack(const uint16_t *packed, int64_t k, int64_t kk,
                       int64_t nn) {
  int64_t p = nn / kBf16Panel, j = nn % kBf16Panel;
  return packed[p * panelElements(k) + (kk / 2) * 32 + j * 2 + kk % 2];
}

} // namespace kiln::bf16

#endif // KILN_RUNTIME_KERNELS_BF16PACKING_H
