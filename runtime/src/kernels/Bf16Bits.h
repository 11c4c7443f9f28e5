//===- Bf16Bits.h - bf16 <-> f32 conversions of single values ---*- C++ -*-===//
//
// In an anonymous namespace, as the kernels' shared inline code is: each
// file compiled for its own ISA keeps its own copy.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_BF16BITS_H
#define KILN_RUNTIME_KERNELS_BF16BITS_H

#include <stdint.h>

namespace kiln {
namespace {

/// A bf16 value's f32, exactly: its bits are the f32's upper half.
inline float bf16ToF32(uint16_t bits) {
  return __builtin_bit_cast(float, uint32_t(bits) << 16);
}

/// The bf16 nearest to f, ties to even; NaNs stay (quiet) NaNs, as the
/// generated code's truncf does.
inline uint16_t f32ToBf16(float f) {
  uint32_t x = __builtin_bit_cast(uint32_t, f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}

} // namespace
} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_BF16BITS_H
