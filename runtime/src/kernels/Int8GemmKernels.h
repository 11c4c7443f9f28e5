//===- Int8GemmKernels.h - What the int8 GEMM variants share ----*- C++ -*-===//
//
// The driver (Int8Gemm.cpp) cuts kiln.qlinear into items of rows x panels
// and hands them to one variant's kernels: Int8Gemm.cpp's generic loops,
// x86/Int8GemmAvx2.cpp, x86/Int8GemmAvx512Vnni.cpp or arm/Int8GemmNeonDot.cpp.
// The ISA files include
// only this header (declarations, and scalar loops in an anonymous
// namespace), so that no inline definition compiled for an ISA can stand in
// for the generic one at link time.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_INT8GEMMKERNELS_H
#define KILN_RUNTIME_KERNELS_INT8GEMMKERNELS_H

#include "kernels/GemmEpilogue.h"

#include <math.h>
#include <string.h>

namespace kiln::int8 {

/// One call as the kernels see it, after the driver's checks.
struct QLinearProblem {
  const float *a;
  int64_t sam, sak; // a's strides
  // The packed weight (Int8Packing.h): panel p starts at panels + p *
  // panelStride, the int32 column sums at colSums (both may be unaligned).
  const int8_t *panels;
  int64_t panelStride; // bytes: kp * 16
  const char *colSums;
  const float *scales; // n
  const float *bias;   // n, or null
  float *c;
  int64_t scm, scn; // c's strides
  int64_t m, n, k, kp;
  int32_t quant; // KILN_RT_QUANT_*
  // KILN_RT_QUANT_TENSOR_U8: the parameters of the whole a, and RN(1 / d)
  // of the divisor d with whether both are normal, where the vector kernels
  // divide by multiplying (x86/Int8GemmAvx512Vnni.cpp).
  float tensorScale, tensorDivisor, tensorReciprocal;
  bool tensorReciprocalExact;
  int32_t tensorZero;
  // The activation alone: the kernels add the bias while rescaling.
  Epilogue activation;
  EpilogueFn activationFn; // null for none
};

/// Rows of a quantized by a variant's `quantize`: row i's kp elements at
/// data + i * lda bytes (uint8, or uint16 where elementBytes is 2), the
/// padding to kp inert (it meets zero weights); its scale and zero point.
struct QuantizedRows {
  const uint8_t *data;
  int64_t lda;
  const float *scale;
  const int32_t *zero;
};

struct Int8Kernels {
  int32_t elementBytes; // of a quantized activation
  // Quantizes rows [m0, m0 + rows) of p.a into dst (lda bytes apart).
  void (*quantize)(const QLinearProblem &p, int64_t m0, int64_t rows,
                   uint8_t *dst, int64_t lda, float *scale, int32_t *zero);
  // c rows [m0, m0 + rows) x panels [first, last), from q's first `rows`.
  void (*gemm)(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
               int64_t rows, int64_t first, int64_t last);
  // The same for KILN_RT_QUANT_NONE, from p.a in place.
  void (*weightOnly)(const QLinearProblem &p, int64_t m0, int64_t rows,
                     int64_t first, int64_t last);
  // The smallest and largest element of a [m, k] with unit column stride,
  // folded into lo and hi.
  void (*minMax)(const float *a, int64_t sam, int64_t m, int64_t k, float &lo,
                 float &hi);
};

extern const Int8Kernels kInt8Generic;
#if defined(__x86_64__)
// Defined in x86/, hidden like the other ISA variants.
#pragma GCC visibility push(hidden)
extern const Int8Kernels kInt8Avx2;
extern const Int8Kernels kInt8Avx512Vnni;
// AMX-INT8: the VNNI variant's quantize, weight-only and min-max kernels
// with x86/Int8GemmAmx.cpp's gemm, which runs the VNNI gemm for what AMX
// does not take. The table is in x86/Int8GemmAvx512Vnni.cpp.
extern const Int8Kernels kInt8Amx;
void gemmAvx512Vnni(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
                    int64_t rows, int64_t first, int64_t last);
void gemmAmxInt8(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
                 int64_t rows, int64_t first, int64_t last);
#pragma GCC visibility pop
#endif
#if defined(__aarch64__)
// arm/Int8GemmNeonDot.cpp: rows stored as int8 q - 128 for sdot. The table,
// kInt8NeonDot, is in Int8Gemm.cpp with the generic weight-only kernel.
#pragma GCC visibility push(hidden)
void quantizeNeonDot(const QLinearProblem &p, int64_t m0, int64_t rows,
                     uint8_t *dst, int64_t lda, float *scale, int32_t *zero);
void gemmNeonDot(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
                 int64_t rows, int64_t first, int64_t last);
#pragma GCC visibility pop
#endif

namespace {

/// Row i of a quantized as the generic variant does it, element by element:
/// the reference the vector variants match bit for bit (any strides; they
/// call this where a's columns are not contiguous). Per row: symmetric int8
/// q = round(a / s), s = max|a| / 127, stored as q + 128 (zero point 128);
/// per tensor: ONNX DynamicQuantizeLinear, q = sat_u8(round(a / s) + zp).
/// Rounding is to nearest even, as nearbyintf and vcvtps2dq do; NaN
/// becomes 0, as vcvtps2dq's out-of-range value does once clamped.
inline int32_t clampU8(float v) {
  v = v > 0.0f ? v : 0.0f;
  return (int32_t)(v < 255.0f ? v : 255.0f);
}

template <typename T>
inline void quantizeRowScalar(const QLinearProblem &p, int64_t i, T *dst,
                              float &scale, int32_t &zero) {
  const float *row = p.a + i * p.sam;
  if (p.quant == KILN_RT_QUANT_TENSOR_U8) {
    scale = p.tensorScale;
    zero = p.tensorZero;
    float zp = (float)p.tensorZero;
    for (int64_t j = 0; j < p.k; ++j) {
      dst[j] = (T)clampU8(nearbyintf(row[j * p.sak] / p.tensorDivisor) + zp);
    }
    for (int64_t j = p.k; j < p.kp; ++j)
      dst[j] = (T)p.tensorZero;
    return;
  }
  float amax = 0.0f;
  for (int64_t j = 0; j < p.k; ++j)
    amax = fmaxf(amax, fabsf(row[j * p.sak]));
  scale = amax / 127.0f;
  zero = 128;
  float inv = scale == 0.0f ? 0.0f : 1.0f / scale;
  for (int64_t j = 0; j < p.k; ++j)
    dst[j] = (T)clampU8(nearbyintf(row[j * p.sak] * inv) + 128.0f);
  for (int64_t j = p.k; j < p.kp; ++j)
    dst[j] = (T)128;
}

} // namespace

} // namespace kiln::int8

#endif // KILN_RUNTIME_KERNELS_INT8GEMMKERNELS_H
