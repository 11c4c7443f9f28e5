//===- Int4GemmKernels.h - What the int4 GEMM variants share ----*- C++ -*-===//
//
// The driver (Int4Gemm.cpp) cuts kiln.qlinear_int4 into items of rows x
// panels and hands them to one variant's kernel: Int4Gemm.cpp's generic
// loops, x86/Int4GemmAvx2.cpp or x86/Int4GemmAvx512.cpp; with int8
// activations x86/Int4GemmQ8Avx2.cpp or x86/Int4GemmQ8Avx512Vnni.cpp. The
// ISA files include only this header (declarations, and scalar loops in an
// anonymous namespace), so that no inline definition compiled for an ISA
// can stand in for the generic one at link time.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_INT4GEMMKERNELS_H
#define KILN_RUNTIME_KERNELS_INT4GEMMKERNELS_H

#include "kernels/GemmEpilogue.h"

#include <math.h>

namespace kiln::int4 {

/// One call as the kernels see it, after the driver's checks.
struct Int4Problem {
  const float *a;
  int64_t sam, sak; // a's strides
  // The packed weight (Int4Packing.h), any alignment: panel p starts at
  // packed + p * panelStride, its group G at + G * groupBytes.
  const uint8_t *packed;
  int64_t panelStride, groupBytes;
  int64_t headerBytes; // before a group's nibbles
  int64_t group;       // rows of K per group, a multiple of 8
  int64_t groupCount;  // ceil(k / group)
  bool zeroPoints;     // the groups carry offsets
  const float *bias;   // n, or null
  float *c;
  int64_t scm, scn; // c's strides
  int64_t m, n, k;
  // The activation alone: the kernels add the bias as they store.
  Epilogue activation;
  EpilogueFn activationFn; // null for none
};

/// c rows [m0, m0 + rows) x panels [first, last).
using Int4GemmFn = void (*)(const Int4Problem &p, int64_t m0, int64_t rows,
                            int64_t first, int64_t last);

struct Int4Kernels {
  Int4GemmFn gemm;
  // Panels a chunk of the driver's must be a multiple of: the widest tile.
  int64_t panelUnit;
};

extern const Int4Kernels kInt4Generic;
#if defined(__x86_64__)
// Defined in x86/, hidden like the other ISA variants.
#pragma GCC visibility push(hidden)
extern const Int4Kernels kInt4Avx2;
extern const Int4Kernels kInt4Avx512;
#pragma GCC visibility pop
#endif

//===----------------------------------------------------------------------===//
// int8 activations (kiln.qlinear_int4 quant = "row")
//===----------------------------------------------------------------------===//

/// A's rows quantized for the int8-activation kernels: per row symmetric
/// int8, s = max |a| / 127 and q = round(a / s) to nearest even (as the int8
/// GEMM's row mode, Int8GemmKernels.h), a NaN to -128 (vpmovsdb of
/// vcvtps2dq's 0x80000000). Row i, at data + i * lda bytes, holds
///   q for groupCount * group rows of K, each octet of K in the order
///     0, 2, 4, 6, 1, 3, 5, 7: the packed octet's low nibbles of each byte,
///     then its high ones (Int4Packing.h), so that one 32-bit broadcast of
///     each half meets them in vpdpbusd; 0 past K;
///   at corrOffset, int32 per group: 8 * the group's sum of q, since the
///     nibbles are u = w + 8;
///   at sumOffset, f32 per group: the group's sum of q, which the zero
///     points' offsets multiply;
/// and scale[i] = s. c is then
///   s * sum_G (scale_G * (sum_k u q - corr_G) + offset_G * sum_G) + bias.
struct Q8Rows {
  int8_t *data;
  int64_t lda;
  float *scale;
  int64_t corrOffset, sumOffset;

  const int32_t *corr(int64_t row) const {
    return reinterpret_cast<const int32_t *>(data + row * lda + corrOffset);
  }
  const float *sums(int64_t row) const {
    return reinterpret_cast<const float *>(data + row * lda + sumOffset);
  }
};

struct Int4Q8Kernels {
  // Quantizes rows [m0, m0 + rows) of p.a into q's first rows.
  void (*quantize)(const Int4Problem &p, int64_t m0, int64_t rows,
                   const Q8Rows &q);
  // c rows [m0, m0 + rows) x panels [first, last), from q's first rows.
  void (*gemm)(const Int4Problem &p, const Q8Rows &q, int64_t m0, int64_t rows,
               int64_t first, int64_t last);
  int64_t panelUnit;
};

extern const Int4Q8Kernels kInt4Q8Generic;
#if defined(__x86_64__)
#pragma GCC visibility push(hidden)
extern const Int4Q8Kernels kInt4Q8Avx2;
extern const Int4Q8Kernels kInt4Q8Avx512Vnni;
#pragma GCC visibility pop
#endif

namespace {

/// Where element r of a group's K lands in Q8Rows' order.
inline int64_t q8Position(int64_t r) {
  return (r & ~int64_t(7)) + ((r & 1) ? 4 + (r & 7) / 2 : (r & 7) / 2);
}

inline int8_t q8Saturate(float v) {
  return !(v >= -128.0f) ? int8_t(-128) : v > 127.0f ? int8_t(127) : int8_t(v);
}

/// Row i of a quantized element by element into row `row` of q: the
/// reference the vector variants match bit for bit (any strides).
inline void quantizeRowQ8Scalar(const Int4Problem &p, int64_t i,
                                const Q8Rows &q, int64_t row) {
  const float *a = p.a + i * p.sam;
  float amax = 0.0f;
  for (int64_t j = 0; j < p.k; ++j)
    amax = fmaxf(amax, fabsf(a[j * p.sak]));
  const float s = amax / 127.0f;
  const float inv = s == 0.0f ? 0.0f : 1.0f / s;
  int8_t *dst = q.data + row * q.lda;
  auto *corr = reinterpret_cast<int32_t *>(dst + q.corrOffset);
  auto *sums = reinterpret_cast<float *>(dst + q.sumOffset);
  for (int64_t g = 0; g < p.groupCount; ++g) {
    int32_t total = 0;
    for (int64_t r = 0; r < p.group; ++r) {
      int64_t k = g * p.group + r;
      int8_t v = k < p.k ? q8Saturate(nearbyintf(a[k * p.sak] * inv)) : 0;
      dst[g * p.group + q8Position(r)] = v;
      total += v;
    }
    corr[g] = 8 * total;
    sums[g] = (float)total;
  }
  q.scale[row] = s;
}

} // namespace

} // namespace kiln::int4

#endif // KILN_RUNTIME_KERNELS_INT4GEMMKERNELS_H
