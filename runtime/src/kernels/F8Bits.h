//===- F8Bits.h - f8E4M3FN <-> f32 conversions of single values -*- C++ -*-===//
//
// f8E4M3FN (OCP FP8 E4M3, ONNX FLOAT8E4M3FN): a sign, 4 exponent bits biased
// by 7 and 3 mantissa bits; no infinities, S.1111.111 is NaN, the largest
// finite magnitude 448 and the smallest subnormal 2^-9. In an anonymous
// namespace, as Bf16Bits.h: each file compiled for its own ISA keeps its own
// copy.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_F8BITS_H
#define KILN_RUNTIME_KERNELS_F8BITS_H

#include <math.h>
#include <stdint.h>

namespace kiln {
namespace {

/// An f8E4M3FN value's f32, exactly. Subnormals are computed from their
/// integer mantissa, so the result never depends on denormals-are-zero.
inline float f8e4m3ToF32(uint8_t bits) {
  const uint32_t sign = uint32_t(bits & 0x80u) << 24, mag = bits & 0x7fu;
  if (mag == 0x7fu)
    return __builtin_bit_cast(float, sign | 0x7fc00000u);
  const uint32_t e = mag >> 3, m = mag & 7u;
  const float v = e ? __builtin_bit_cast(float, ((e + 120u) << 23) | (m << 20))
                    : float(m) * 0x1p-9f;
  return __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, v) | sign);
}

/// The f8E4M3FN nearest to f, ties to even, saturating: magnitudes of 448
/// and more (infinities among them) give +-448, as ONNX's Cast with
/// saturate=1; NaNs give NaN.
inline uint8_t f32ToF8e4m3(float f) {
  const uint32_t x = __builtin_bit_cast(uint32_t, f);
  const uint8_t sign = uint8_t((x >> 24) & 0x80u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u)
    return sign | 0x7fu;
  if (a >= 0x43e00000u) // 448
    return sign | 0x7eu;
  if (a < 0x3c800000u) // 2^-6: subnormal codes m * 2^-9, m <= 8 (8 is 2^-6)
    return sign | uint8_t(nearbyintf(__builtin_bit_cast(float, a) * 0x1p9f));
  const uint32_t r = a + 0x7ffffu + ((a >> 20) & 1u);
  return sign | uint8_t((r >> 20) - (120u << 3));
}

} // namespace
} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_F8BITS_H
