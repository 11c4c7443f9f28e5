//===- Int8GemmNeonDot.cpp - int8 GEMM with the Arm dot product -----------===//
//
// kInt8NeonDot's kernels (Int8GemmKernels.h): the packed weight's groups of
// 4 k for 16 columns (Int8Packing.h) are four q registers, each the operand
// of one sdot by element, whose lane picks 4 k of one activation row. sdot
// multiplies signed by signed, so the rows are quantized as the generic
// kernels quantize them and stored as q - 128 (int8); the kernel adds back
// 128 * colsum[n], so its int32 sums, and then its outputs, are those of the
// generic kernels bit for bit.
//
// Compiled with -march=armv8.2-a+dotprod (runtime/CMakeLists.txt); the
// driver calls these only where getauxval reports HWCAP_ASIMDDP.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int8GemmKernels.h"
#include "kernels/Int8Packing.h"

#include <arm_neon.h>

namespace kiln::int8 {

namespace {

constexpr int kRows = 4; // rows per register tile: 16 int32x4 accumulators

// Four elements as quantizeRowScalar quantizes them (round to nearest even,
// then clamped in float, NaN to 0), minus 128.
__attribute__((always_inline)) inline int32x4_t quantize4(float32x4_t q,
                                                          float32x4_t zp) {
  float32x4_t v = vaddq_f32(vrndnq_f32(q), zp);
  v = vminnmq_f32(vmaxnmq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(255.0f));
  return vsubq_s32(vreinterpretq_s32_u32(vcvtq_u32_f32(v)), vdupq_n_s32(128));
}

// Row i of p.a into dst as int8 q - 128, its kp - k padding at the zero
// point (inert: it meets zero weights).
void quantizeRow(const QLinearProblem &p, int64_t i, int8_t *dst, float &scale,
                 int32_t &zero) {
  const float *row = p.a + i * p.sam;
  bool tensor = p.quant == KILN_RT_QUANT_TENSOR_U8;
  if (p.sak != 1) {
    uint8_t *u = reinterpret_cast<uint8_t *>(dst);
    quantizeRowScalar(p, i, u, scale, zero);
    for (int64_t j = 0; j < p.kp; ++j)
      u[j] ^= 0x80;
    return;
  }
  float inv = 0.0f;
  if (tensor) {
    scale = p.tensorScale;
    zero = p.tensorZero;
  } else {
    float32x4_t amax4 = vdupq_n_f32(0.0f);
    int64_t j = 0;
    for (; j + 4 <= p.k; j += 4)
      amax4 = vmaxnmq_f32(amax4, vabsq_f32(vld1q_f32(row + j)));
    float amax = vmaxnmvq_f32(amax4);
    for (; j < p.k; ++j)
      amax = fmaxf(amax, fabsf(row[j]));
    scale = amax / 127.0f;
    zero = 128;
    inv = scale == 0.0f ? 0.0f : 1.0f / scale;
  }
  float32x4_t zp = vdupq_n_f32((float)zero);
  float32x4_t div = vdupq_n_f32(p.tensorDivisor), mul = vdupq_n_f32(inv);
  int64_t j = 0;
  for (; j + 8 <= p.k; j += 8) {
    float32x4_t x0 = vld1q_f32(row + j), x1 = vld1q_f32(row + j + 4);
    float32x4_t q0 = tensor ? vdivq_f32(x0, div) : vmulq_f32(x0, mul);
    float32x4_t q1 = tensor ? vdivq_f32(x1, div) : vmulq_f32(x1, mul);
    int16x8_t h = vcombine_s16(vmovn_s32(quantize4(q0, zp)),
                               vmovn_s32(quantize4(q1, zp)));
    vst1_s8(dst + j, vmovn_s16(h));
  }
  for (; j < p.k; ++j) {
    float q = tensor ? row[j] / p.tensorDivisor : row[j] * inv;
    dst[j] = (int8_t)(clampU8(nearbyintf(q) + (float)zero) - 128);
  }
  for (; j < p.kp; ++j)
    dst[j] = (int8_t)(zero - 128);
}

int32x4_t load4(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return vdupq_n_s32(v);
}

// Rows [i0, i0 + Rows) of the tile x one panel: c = rescaled sums.
template <int Rows>
__attribute__((always_inline)) inline void
tileRows(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
         int64_t i0, const int8_t *b, int64_t n0, int64_t cols) {
  int32x4_t acc[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < 4; ++v)
      acc[r][v] = vdupq_n_s32(0);
  const int8_t *a[Rows];
  for (int r = 0; r < Rows; ++r)
    a[r] = reinterpret_cast<const int8_t *>(q.data + (i0 + r) * q.lda);
  const int64_t groups = p.kp / 4;
  int64_t g = 0;
  for (; g + 4 <= groups; g += 4) {
    int8x16_t av[Rows];
    for (int r = 0; r < Rows; ++r)
      av[r] = vld1q_s8(a[r] + 4 * g);
#define KILN_SDOT_GROUP(lane)                                                  \
  {                                                                            \
    const int8_t *bg = b + (g + (lane)) * 64;                                  \
    int8x16_t b0 = vld1q_s8(bg), b1 = vld1q_s8(bg + 16);                       \
    int8x16_t b2 = vld1q_s8(bg + 32), b3 = vld1q_s8(bg + 48);                  \
    for (int r = 0; r < Rows; ++r) {                                           \
      acc[r][0] = vdotq_laneq_s32(acc[r][0], b0, av[r], lane);                 \
      acc[r][1] = vdotq_laneq_s32(acc[r][1], b1, av[r], lane);                 \
      acc[r][2] = vdotq_laneq_s32(acc[r][2], b2, av[r], lane);                 \
      acc[r][3] = vdotq_laneq_s32(acc[r][3], b3, av[r], lane);                 \
    }                                                                          \
  }
    KILN_SDOT_GROUP(0)
    KILN_SDOT_GROUP(1)
    KILN_SDOT_GROUP(2)
    KILN_SDOT_GROUP(3)
#undef KILN_SDOT_GROUP
  }
  for (; g < groups; ++g) {
    const int8_t *bg = b + g * 64;
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      int8x16_t av = vreinterpretq_s8_s32(load4(a[r] + 4 * g));
      for (int v = 0; v < 4; ++v)
        acc[r][v] = vdotq_laneq_s32(acc[r][v], vld1q_s8(bg + 16 * v), av, 0);
    }
  }
  // sum (u - zp) w = sum (u - 128) w + (128 - zp) colsum, exactly.
  int32x4_t colSum[4];
  float32x4_t scales[4], bias[4];
  for (int v = 0; v < 4; ++v) {
    colSum[v] = vreinterpretq_s32_u8(vld1q_u8(
        reinterpret_cast<const uint8_t *>(p.colSums) + 4 * (n0 + 4 * v)));
    if (4 * v < cols) {
      float tmp[4] = {}, btmp[4] = {};
      for (int l = 0; l < 4 && 4 * v + l < cols; ++l) {
        tmp[l] = p.scales[n0 + 4 * v + l];
        btmp[l] = p.bias ? p.bias[n0 + 4 * v + l] : 0.0f;
      }
      scales[v] = vld1q_f32(tmp);
      bias[v] = vld1q_f32(btmp);
    } else {
      scales[v] = bias[v] = vdupq_n_f32(0.0f);
    }
  }
  // Unrolled, as every loop over acc, or acc lives in memory.
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    int32x4_t fix = vdupq_n_s32(128 - q.zero[i0 + r]);
    float rowScale = q.scale[i0 + r];
    float out[16];
    for (int v = 0; v < 4; ++v) {
      float32x4_t x = vcvtq_f32_s32(vmlaq_s32(acc[r][v], fix, colSum[v]));
      x = vmulq_f32(x, vmulq_n_f32(scales[v], rowScale));
      if (p.bias)
        x = vaddq_f32(x, bias[v]);
      vst1q_f32(out + 4 * v, x);
    }
    float *c = p.c + (m0 + i0 + r) * p.scm + n0 * p.scn;
    if (p.scn == 1 && cols == kInt8Panel) {
      memcpy(c, out, sizeof(out));
      continue;
    }
    for (int64_t j = 0; j < cols; ++j)
      c[j * p.scn] = out[j];
  }
}

} // namespace

void quantizeNeonDot(const QLinearProblem &p, int64_t m0, int64_t rows,
                     uint8_t *dst, int64_t lda, float *scale, int32_t *zero) {
  for (int64_t i = 0; i < rows; ++i)
    quantizeRow(p, m0 + i, reinterpret_cast<int8_t *>(dst + i * lda), scale[i],
                zero[i]);
}

void gemmNeonDot(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
                 int64_t rows, int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; ++panel) {
    const int8_t *b = p.panels + panel * p.panelStride;
    int64_t n0 = panel * kInt8Panel;
    int64_t cols = p.n - n0 < kInt8Panel ? p.n - n0 : kInt8Panel;
    int64_t i = 0;
    for (; i + kRows <= rows; i += kRows)
      tileRows<kRows>(p, q, m0, i, b, n0, cols);
    switch (rows - i) {
    case 3:
      tileRows<3>(p, q, m0, i, b, n0, cols);
      break;
    case 2:
      tileRows<2>(p, q, m0, i, b, n0, cols);
      break;
    case 1:
      tileRows<1>(p, q, m0, i, b, n0, cols);
      break;
    default:
      break;
    }
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

} // namespace kiln::int8
