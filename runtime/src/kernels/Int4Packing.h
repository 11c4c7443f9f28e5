//===- Int4Packing.h - The layout of packed int4 weights --------*- C++ -*-===//
//
// kiln.qlinear_int4's weight [K, N] (4-bit values one per int8, scales and
// optional zero points per group of g rows of K and column) is packed by the
// compiler (codegen/LowerQuantized.cpp) into the layout the runtime's int4
// GEMM reads (Int4Gemm.cpp); this header is the one definition of it, shared
// by both.
//
// Columns go in panels of 16 (one zmm of f32 accumulators). K is cut into
// groups of g, the last one padded, and each group of each panel is one
// block, the blocks of a panel back to back so that a kernel reads each
// panel as one sequential stream:
//
//   panel p, group G at  (p * groups + G) * groupBytes:
//     16 f32 scales                      s[G, 16p + j]
//     16 f32 offsets (zero points only)  (8 - zp[G, 16p + j]) * s[G, 16p + j]
//     g / 8 octets of 64 bytes: in octet o, the 32-bit little-endian word j
//     holds column 16p + j at k = G * g + 8o + r in bits [4r, 4r + 4)
//
// as unsigned nibbles u in [0, 15]: u = q + 8 for signed values (no zero
// points), u = q with zero points. Every kernel computes
//
//   w = (u - 8) * s + offset
//
// which is q * s, or (q - zp) * s. One zmm load gives 8 rows of K for 16
// columns; shifting it right by 4r leaves row r in the low 4 bits of each
// lane, which vpermps reads as an index into the 16 values u - 8. Padded
// columns have scale 0, padded rows u = 8; the kernels read no row past K.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_INT4PACKING_H
#define KILN_RUNTIME_KERNELS_INT4PACKING_H

#include <stdint.h>
#include <string.h>

namespace kiln::int4 {

constexpr int64_t kInt4Panel = 16;
// Rows of K per 32-bit lane: groups are whole multiples of it.
constexpr int64_t kInt4Octet = 8;

inline int64_t groups(int64_t k, int64_t g) { return (k + g - 1) / g; }
inline int64_t panels(int64_t n) { return (n + kInt4Panel - 1) / kInt4Panel; }
/// Bytes before a group's nibbles: its scales, and offsets.
inline int64_t groupHeaderBytes(bool zeroPoints) {
  return zeroPoints ? 128 : 64;
}
/// Bytes of one group of one panel.
inline int64_t groupBytes(int64_t g, bool zeroPoints) {
  return groupHeaderBytes(zeroPoints) + g * kInt4Panel / 2;
}
/// Bytes of one panel.
inline int64_t panelBytes(int64_t k, int64_t g, bool zeroPoints) {
  return groups(k, g) * groupBytes(g, zeroPoints);
}
/// Bytes of the whole packed weight.
inline int64_t packedBytes(int64_t k, int64_t n, int64_t g, bool zeroPoints) {
  return panels(n) * panelBytes(k, g, zeroPoints);
}

/// Packs the row-major [k, n] values `q` (in [-8, 7] without zero points,
/// [0, 15] with), `scales` [groups(k, g), n] and `zeroPoints` of the same
/// shape or null into `out` (packedBytes(k, n, g, zeroPoints != null)
/// bytes, any alignment). g must be a positive multiple of 8. Returns
/// false, with `out` partly written, when a value is out of its range.
inline bool pack(const int8_t *q, const float *scales, const float *zeroPoints,
                 int64_t k, int64_t n, int64_t g, uint8_t *out) {
  const bool zp = zeroPoints != nullptr;
  const int64_t gs = groups(k, g), header = groupHeaderBytes(zp);
  const int64_t lo = zp ? 0 : -8, hi = zp ? 15 : 7, bias = zp ? 0 : 8;
  for (int64_t p = 0; p < panels(n); ++p)
    for (int64_t G = 0; G < gs; ++G) {
      uint8_t *block = out + (p * gs + G) * groupBytes(g, zp);
      float s[kInt4Panel] = {}, offset[kInt4Panel] = {};
      for (int64_t j = 0; j < kInt4Panel && p * kInt4Panel + j < n; ++j) {
        int64_t at = G * n + p * kInt4Panel + j;
        s[j] = scales[at];
        if (zp)
          offset[j] = (8.0f - zeroPoints[at]) * s[j];
      }
      memcpy(block, s, sizeof(s));
      if (zp)
        memcpy(block + 64, offset, sizeof(offset));
      uint8_t *nibbles = block + header;
      memset(nibbles, 0x88, size_t(g * kInt4Panel / 2));
      for (int64_t r = 0; r < g && G * g + r < k; ++r)
        for (int64_t j = 0; j < kInt4Panel && p * kInt4Panel + j < n; ++j) {
          int64_t v = q[(G * g + r) * n + p * kInt4Panel + j];
          if (v < lo || v > hi)
            return false;
          uint8_t u = uint8_t(v + bias);
          uint8_t &byte = nibbles[(r / 8) * 64 + j * 4 + (r % 8) / 2];
          byte = r % 2 ? uint8_t((byte & 0x0f) | (u << 4))
                       : uint8_t((byte & 0xf0) | u);
        }
    }
  return true;
}

/// The unsigned nibble u of w[kk, nn] read back from a packed weight.
inline int32_t nibble(const uint8_t *packed, int64_t k, int64_t g,
                      bool zeroPoints, int64_t kk, int64_t nn) {
  int64_t p = nn / kInt4Panel, j = nn % kInt4Panel, G = kk / g, r = kk % g;
  const uint8_t *block =
      packed + (p * groups(k, g) + G) * groupBytes(g, zeroPoints);
  uint8_t byte =
      block[groupHeaderBytes(zeroPoints) + (r / 8) * 64 + j * 4 + (r % 8) / 2];
  return r % 2 ? byte >> 4 : byte & 0x0f;
}

} // namespace kiln::int4

#endif // KILN_RUNTIME_KERNELS_INT4PACKING_H
