//===- Int8GemmAvx2.cpp - int8 GEMM kernels for AVX2 ----------------------===//
//
// The kernels of kInt8Avx2 (Int8GemmKernels.h). Compiled with -mavx2 -mfma
// (runtime/CMakeLists.txt); the driver calls them only on CPUs that have
// both (CpuFeatures.h).
//
// Without VNNI the products go through vpmaddwd on int16: the activations
// are quantized straight to uint16 (0-255), so a row's 4 values of a step
// are one 8-byte broadcast, and each 16 weight bytes of a panel (4 columns x
// 4 steps of K) are sign-extended with vpmovsxbw. vpmaddwd then leaves two
// partial sums per column, added at the end of the tile. (vpmaddubsw would
// take the bytes as they are, but its int16 sums saturate: 255 * 127 * 2
// does not fit.) A tile is up to 3 rows x 1 panel: 12 ymm accumulators,
// 3 broadcasts and the widened weights in the 16 registers.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int8GemmKernels.h"

#include <immintrin.h>

namespace kiln::int8 {

namespace {

constexpr int kPanel = 16;
constexpr int kMr = 3;
constexpr int kWeightOnlyMr = 4;
constexpr int64_t kPrefetchBytes = 1024;

// The scales (or bias) of columns n0 .. n0 + cols, zero-padded to 16.
__attribute__((always_inline)) inline void
loadColumns(const float *src, int64_t cols, __m256 &lo, __m256 &hi) {
  if (cols >= kPanel) {
    lo = _mm256_loadu_ps(src);
    hi = _mm256_loadu_ps(src + 8);
    return;
  }
  alignas(32) float tmp[kPanel] = {};
  for (int64_t j = 0; j < cols; ++j)
    tmp[j] = src[j];
  lo = _mm256_load_ps(tmp);
  hi = _mm256_load_ps(tmp + 8);
}

__attribute__((always_inline)) inline void
storeColumns(float *row, int64_t scn, int64_t cols, __m256 lo, __m256 hi) {
  if (cols >= kPanel && scn == 1) {
    _mm256_storeu_ps(row, lo);
    _mm256_storeu_ps(row + 8, hi);
    return;
  }
  alignas(32) float tmp[kPanel];
  _mm256_store_ps(tmp, lo);
  _mm256_store_ps(tmp + 8, hi);
  for (int64_t j = 0; j < cols; ++j)
    row[j * scn] = tmp[j];
}

//===----------------------------------------------------------------------===//
// Quantized activations
//===----------------------------------------------------------------------===//

// Columns 0-7 of a panel from the tile's accumulators of columns 0-3 and
// 4-7 (two partial sums per column, in order).
__attribute__((always_inline)) inline __m256i columnSums(__m256i c03,
                                                         __m256i c47) {
  // hadd: [c0 c1 c4 c5 | c2 c3 c6 c7]; the permute puts the pairs in order.
  return _mm256_permute4x64_epi64(_mm256_hadd_epi32(c03, c47),
                                  _MM_SHUFFLE(3, 1, 2, 0));
}

template <int Rows>
void tileAvx2(const QLinearProblem &p, const QuantizedRows &q, int64_t m,
              int64_t panel) {
  __m256i acc[Rows][4];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < 4; ++c)
      acc[r][c] = _mm256_setzero_si256();
  const int8_t *b = p.panels + panel * p.panelStride;
  const int64_t groups = p.kp / 4;
  for (int64_t g = 0; g < groups; ++g) {
    const int8_t *src = b + g * 64;
    _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchBytes),
                 _MM_HINT_T0);
    __m256i av[Rows];
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      int64_t word; // 4 uint16
      memcpy(&word, q.data + r * q.lda + 8 * g, 8);
      av[r] = _mm256_set1_epi64x(word);
    }
#pragma clang loop unroll(full)
    for (int c = 0; c < 4; ++c) {
      __m256i w = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + 16 * c)));
#pragma clang loop unroll(full)
      for (int r = 0; r < Rows; ++r)
        acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(av[r], w));
    }
  }

  const int64_t n0 = panel * kPanel;
  const int64_t cols = p.n - n0 < kPanel ? p.n - n0 : kPanel;
  __m256i sum0 =
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p.colSums + 4 * n0));
  __m256i sum1 = _mm256_loadu_si256(
      reinterpret_cast<const __m256i *>(p.colSums + 4 * (n0 + 8)));
  __m256 scale0, scale1, bias0 = _mm256_setzero_ps(), bias1 = bias0;
  loadColumns(p.scales + n0, cols, scale0, scale1);
  if (p.bias)
    loadColumns(p.bias + n0, cols, bias0, bias1);
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m256i zp = _mm256_set1_epi32(q.zero[r]);
    __m256 sa = _mm256_set1_ps(q.scale[r]);
    __m256i e0 = _mm256_sub_epi32(columnSums(acc[r][0], acc[r][1]),
                                  _mm256_mullo_epi32(zp, sum0));
    __m256i e1 = _mm256_sub_epi32(columnSums(acc[r][2], acc[r][3]),
                                  _mm256_mullo_epi32(zp, sum1));
    __m256 v0 =
        _mm256_mul_ps(_mm256_cvtepi32_ps(e0), _mm256_mul_ps(sa, scale0));
    __m256 v1 =
        _mm256_mul_ps(_mm256_cvtepi32_ps(e1), _mm256_mul_ps(sa, scale1));
    if (p.bias) {
      v0 = _mm256_add_ps(v0, bias0);
      v1 = _mm256_add_ps(v1, bias1);
    }
    storeColumns(p.c + (m + r) * p.scm + n0 * p.scn, p.scn, cols, v0, v1);
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

void gemmAvx2(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
              int64_t rows, int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; ++panel)
    for (int64_t i = 0; i < rows; i += kMr) {
      QuantizedRows tile{q.data + i * q.lda, q.lda, q.scale + i, q.zero + i};
      switch (rows - i) {
      case 1:
        tileAvx2<1>(p, tile, m0 + i, panel);
        break;
      case 2:
        tileAvx2<2>(p, tile, m0 + i, panel);
        break;
      default:
        tileAvx2<3>(p, tile, m0 + i, panel);
        break;
      }
    }
}

// max |row[j]| over k elements; NaN is skipped, as fmaxf does (max(x, m)
// returns m where x is NaN). Four accumulators: vmaxps has a latency of 4.
float absMax(const float *row, int64_t k) {
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m0 = _mm256_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
  int64_t j = 0;
  for (; j + 32 <= k; j += 32) {
    m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(row + j), magnitude), m0);
    m1 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(row + j + 8), magnitude),
                       m1);
    m2 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(row + j + 16), magnitude),
                       m2);
    m3 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(row + j + 24), magnitude),
                       m3);
  }
  for (; j + 8 <= k; j += 8)
    m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(row + j), magnitude), m0);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes,
                  _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
  float amax = 0.0f;
  for (float v : lanes)
    amax = fmaxf(amax, v);
  for (; j < k; ++j)
    amax = fmaxf(amax, fabsf(row[j]));
  return amax;
}

// Rows of a as uint16, as quantizeRowScalar would write them. The division
// of the per-tensor mode goes through the reciprocal, exactly: see
// Scaling in x86/Int8GemmAvx512Vnni.cpp.
void quantizeAvx2(const QLinearProblem &p, int64_t m0, int64_t rows,
                  uint8_t *dst, int64_t lda, float *scale, int32_t *zero) {
  const bool tensor = p.quant == KILN_RT_QUANT_TENSOR_U8;
  for (int64_t i = 0; i < rows; ++i) {
    auto *out = reinterpret_cast<uint16_t *>(dst + i * lda);
    if (p.sak != 1 || (tensor && !p.tensorReciprocalExact)) {
      quantizeRowScalar(p, m0 + i, out, scale[i], zero[i]);
      continue;
    }
    const float *row = p.a + (m0 + i) * p.sam;
    if (tensor) {
      scale[i] = p.tensorScale;
      zero[i] = p.tensorZero;
    } else {
      scale[i] = absMax(row, p.k) / 127.0f;
      zero[i] = 128;
    }
    const float factor = tensor ? p.tensorReciprocal
                                : (scale[i] == 0.0f ? 0.0f : 1.0f / scale[i]);
    const __m256 vfactor = _mm256_set1_ps(factor);
    const __m256 divisor = _mm256_set1_ps(p.tensorDivisor);
    const __m256i zp = _mm256_set1_epi32(zero[i]);
    const __m256i top = _mm256_set1_epi16(255);
    auto scaled = [&](__m256 v) {
      __m256 q0 = _mm256_mul_ps(v, vfactor);
      if (!tensor)
        return q0;
      return _mm256_fmadd_ps(_mm256_fnmadd_ps(q0, divisor, v), vfactor, q0);
    };
    int64_t j = 0;
    for (; j + 16 <= p.k; j += 16) {
      __m256i q0 = _mm256_add_epi32(
          _mm256_cvtps_epi32(scaled(_mm256_loadu_ps(row + j))), zp);
      __m256i q1 = _mm256_add_epi32(
          _mm256_cvtps_epi32(scaled(_mm256_loadu_ps(row + j + 8))), zp);
      // packus saturates below 0 (NaN converts to INT_MIN), the min above
      // 255; the permute undoes packus's lane interleaving.
      __m256i words = _mm256_permute4x64_epi64(_mm256_packus_epi32(q0, q1),
                                               _MM_SHUFFLE(3, 1, 2, 0));
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + j),
                          _mm256_min_epu16(words, top));
    }
    for (; j < p.k; ++j) {
      float v = tensor ? row[j] / p.tensorDivisor : row[j] * factor;
      out[j] = (uint16_t)clampU8(nearbyintf(v) + (float)zero[i]);
    }
    for (; j < p.kp; ++j)
      out[j] = (uint16_t)zero[i];
  }
}

//===----------------------------------------------------------------------===//
// Weight only: f32 activations times dequantized weights
//===----------------------------------------------------------------------===//

// Weight w[4g + r, n] sits in byte r of column n's dword: shifted to the
// top and back, sign-extended, it converts exactly to f32.
template <int R>
__attribute__((always_inline)) inline __m256 weightRow(__m256i raw) {
  if constexpr (R < 3)
    raw = _mm256_slli_epi32(raw, 24 - 8 * R);
  return _mm256_cvtepi32_ps(_mm256_srai_epi32(raw, 24));
}

template <int Rows, int R>
__attribute__((always_inline)) inline void
weightOnlyStep(const float *a, int64_t sam, __m256i raw0, __m256i raw1,
               __m256 (&acc)[Rows][2]) {
  __m256 w0 = weightRow<R>(raw0), w1 = weightRow<R>(raw1);
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m256 av = _mm256_broadcast_ss(a + r * sam);
    acc[r][0] = _mm256_fmadd_ps(av, w0, acc[r][0]);
    acc[r][1] = _mm256_fmadd_ps(av, w1, acc[r][1]);
  }
}

template <int Rows>
void tileWeightOnly(const QLinearProblem &p, int64_t m, int64_t panel) {
  __m256 acc[Rows][2];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const float *a = p.a + m * p.sam;
  const int64_t sak = p.sak;
  const int8_t *b = p.panels + panel * p.panelStride;
  const int64_t full = p.k / 4;
  for (int64_t g = 0; g < full; ++g) {
    const int8_t *src = b + g * 64;
    _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchBytes),
                 _MM_HINT_T0);
    __m256i raw0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src));
    __m256i raw1 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + 32));
    const float *ak = a + 4 * g * sak;
    weightOnlyStep<Rows, 0>(ak, p.sam, raw0, raw1, acc);
    weightOnlyStep<Rows, 1>(ak + sak, p.sam, raw0, raw1, acc);
    weightOnlyStep<Rows, 2>(ak + 2 * sak, p.sam, raw0, raw1, acc);
    weightOnlyStep<Rows, 3>(ak + 3 * sak, p.sam, raw0, raw1, acc);
  }
  if (int64_t tail = p.k - 4 * full) {
    // a has no elements past k: only the rows that are there.
    const int8_t *src = b + full * 64;
    __m256i raw0 = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src));
    __m256i raw1 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + 32));
    const float *ak = a + 4 * full * sak;
    weightOnlyStep<Rows, 0>(ak, p.sam, raw0, raw1, acc);
    if (tail > 1)
      weightOnlyStep<Rows, 1>(ak + sak, p.sam, raw0, raw1, acc);
    if (tail > 2)
      weightOnlyStep<Rows, 2>(ak + 2 * sak, p.sam, raw0, raw1, acc);
  }

  const int64_t n0 = panel * kPanel;
  const int64_t cols = p.n - n0 < kPanel ? p.n - n0 : kPanel;
  __m256 scale0, scale1, bias0 = _mm256_setzero_ps(), bias1 = bias0;
  loadColumns(p.scales + n0, cols, scale0, scale1);
  if (p.bias)
    loadColumns(p.bias + n0, cols, bias0, bias1);
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m256 v0 = _mm256_mul_ps(acc[r][0], scale0);
    __m256 v1 = _mm256_mul_ps(acc[r][1], scale1);
    if (p.bias) {
      v0 = _mm256_add_ps(v0, bias0);
      v1 = _mm256_add_ps(v1, bias1);
    }
    storeColumns(p.c + (m + r) * p.scm + n0 * p.scn, p.scn, cols, v0, v1);
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

void weightOnlyAvx2(const QLinearProblem &p, int64_t m0, int64_t rows,
                    int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; ++panel)
    for (int64_t i = 0; i < rows; i += kWeightOnlyMr)
      switch (rows - i) {
      case 1:
        tileWeightOnly<1>(p, m0 + i, panel);
        break;
      case 2:
        tileWeightOnly<2>(p, m0 + i, panel);
        break;
      case 3:
        tileWeightOnly<3>(p, m0 + i, panel);
        break;
      default:
        tileWeightOnly<4>(p, m0 + i, panel);
        break;
      }
}

void minMaxAvx2(const float *a, int64_t sam, int64_t m, int64_t k, float &lo,
                float &hi) {
  // min(v, lo) keeps lo where v is NaN, as the scalar compare does. Two
  // accumulators each: vminps has a latency of 4.
  __m256 lo0 = _mm256_set1_ps(lo), lo1 = lo0, hi0 = _mm256_set1_ps(hi),
         hi1 = hi0;
  const int64_t full = k / 16 * 16;
  for (int64_t i = 0; i < m; ++i) {
    const float *row = a + i * sam;
    for (int64_t j = 0; j < full; j += 16) {
      __m256 v0 = _mm256_loadu_ps(row + j), v1 = _mm256_loadu_ps(row + j + 8);
      lo0 = _mm256_min_ps(v0, lo0);
      hi0 = _mm256_max_ps(v0, hi0);
      lo1 = _mm256_min_ps(v1, lo1);
      hi1 = _mm256_max_ps(v1, hi1);
    }
    for (int64_t j = full; j < k; ++j) {
      lo = row[j] < lo ? row[j] : lo;
      hi = row[j] > hi ? row[j] : hi;
    }
  }
  alignas(32) float los[8], his[8];
  _mm256_store_ps(los, _mm256_min_ps(lo0, lo1));
  _mm256_store_ps(his, _mm256_max_ps(hi0, hi1));
  for (int l = 0; l < 8; ++l) {
    lo = los[l] < lo ? los[l] : lo;
    hi = his[l] > hi ? his[l] : hi;
  }
}

} // namespace

const Int8Kernels kInt8Avx2 = {2, quantizeAvx2, gemmAvx2, weightOnlyAvx2,
                               minMaxAvx2};

} // namespace kiln::int8
