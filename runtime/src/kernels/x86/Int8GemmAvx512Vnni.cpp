//===- Int8GemmAvx512Vnni.cpp - int8 GEMM kernels for AVX-512 VNNI --------===//
//
// The kernels of kInt8Avx512Vnni (Int8GemmKernels.h). Compiled with
// -mavx512f -mavx512bw -mavx512vl -mavx512vnni (runtime/CMakeLists.txt);
// the driver calls them only on CPUs that have all four (CpuFeatures.h).
//
// One vpdpbusd multiplies 4 uint8 activations of a row, broadcast, by the
// 4 int8 weights of each of a panel's 16 columns and adds the 4 products to
// the column's int32 accumulator: the packed layout (Int8Packing.h) is the
// 64 bytes it reads. A tile is up to 8 rows x 3 panels: 24 zmm accumulators,
// 3 for the panel bytes and 1 for the broadcast, and 24 independent
// vpdpbusd per step, enough to cover their 5-cycle latency at two a cycle.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int8GemmKernels.h"

#include <immintrin.h>

namespace kiln::int8 {

namespace {

constexpr int kPanel = 16;
constexpr int kMr = 8;
constexpr int kNp = 3;
// Panels per weight-only tile: 8 x 2 accumulators, 2 x 2 for the bytes and
// their dequantized values.
constexpr int kWeightOnlyNp = 2;
// Bytes of each panel fetched ahead of use. A step reads one cache line per
// panel; a decode step (one row tile) otherwise waits on memory for each.
constexpr int64_t kPrefetchBytes = 1024;

__mmask16 columnMask(int64_t cols) {
  return cols >= kPanel ? __mmask16(0xffff)
                        : __mmask16((1u << (cols > 0 ? cols : 0)) - 1);
}

// Stores the Panels * 16 columns of one row of a finished tile, the first
// `cols` of them, to c (row pointer `row`, column stride scn).
template <int Panels>
__attribute__((always_inline)) inline void
storeRow(float *row, int64_t scn, const __m512 (&v)[Panels],
         const __mmask16 (&mask)[Panels], int64_t cols) {
  if (scn == 1) {
#pragma clang loop unroll(full)
    for (int q = 0; q < Panels; ++q)
      _mm512_mask_storeu_ps(row + kPanel * q, mask[q], v[q]);
    return;
  }
  alignas(64) float tmp[Panels * kPanel];
#pragma clang loop unroll(full)
  for (int q = 0; q < Panels; ++q)
    _mm512_store_ps(tmp + kPanel * q, v[q]);
  for (int64_t j = 0; j < cols; ++j)
    row[j * scn] = tmp[j];
}

//===----------------------------------------------------------------------===//
// Quantized activations
//===----------------------------------------------------------------------===//

// Rows x (Panels * 16) of c at row m, panel `panel`, from q's first rows:
// c = (acc - zp * colsum) * (sa * sw) + bias, then the activation. The
// first tile under a panel group fetches it ahead; the others find it in
// cache.
template <int Rows, int Panels, bool Prefetch>
void tileVnni(const QLinearProblem &p, const QuantizedRows &q, int64_t m,
              int64_t panel) {
  __m512i acc[Rows][Panels];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_setzero_si512();
  const int8_t *b = p.panels + panel * p.panelStride;
  const int64_t groups = p.kp / 4;
  for (int64_t g = 0; g < groups; ++g) {
    __m512i bv[Panels];
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      const int8_t *src = b + c * p.panelStride + g * 64;
      if constexpr (Prefetch)
        _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchBytes),
                     _MM_HINT_T0);
      bv[c] = _mm512_loadu_si512(src);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      int32_t word;
      memcpy(&word, q.data + r * q.lda + 4 * g, 4);
      __m512i av = _mm512_set1_epi32(word);
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c)
        acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], av, bv[c]);
    }
  }

  const int64_t n0 = panel * kPanel;
  const int64_t cols = p.n - n0 < Panels * kPanel ? p.n - n0 : Panels * kPanel;
  __mmask16 mask[Panels];
  __m512i sums[Panels];
  __m512 scale[Panels], bias[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    mask[c] = columnMask(cols - kPanel * c);
    // The column sums cover whole panels.
    sums[c] = _mm512_loadu_si512(p.colSums + 4 * (n0 + kPanel * c));
    scale[c] = _mm512_maskz_loadu_ps(mask[c], p.scales + n0 + kPanel * c);
    bias[c] = p.bias ? _mm512_maskz_loadu_ps(mask[c], p.bias + n0 + kPanel * c)
                     : _mm512_setzero_ps();
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m512i zp = _mm512_set1_epi32(q.zero[r]);
    __m512 sa = _mm512_set1_ps(q.scale[r]);
    __m512 v[Panels];
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      __m512i exact =
          _mm512_sub_epi32(acc[r][c], _mm512_mullo_epi32(zp, sums[c]));
      v[c] =
          _mm512_mul_ps(_mm512_cvtepi32_ps(exact), _mm512_mul_ps(sa, scale[c]));
      if (p.bias)
        v[c] = _mm512_add_ps(v[c], bias[c]);
    }
    storeRow<Panels>(p.c + (m + r) * p.scm + n0 * p.scn, p.scn, v, mask, cols);
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

using TileFn = void (*)(const QLinearProblem &, const QuantizedRows &, int64_t,
                        int64_t);

template <int Rows, bool Prefetch> TileFn tileVnniFor(int64_t panels) {
  switch (panels) {
  case 1:
    return tileVnni<Rows, 1, Prefetch>;
  case 2:
    return tileVnni<Rows, 2, Prefetch>;
  default:
    return tileVnni<Rows, 3, Prefetch>;
  }
}

template <bool Prefetch> TileFn tileVnniFor(int64_t rows, int64_t panels) {
  switch (rows) {
  case 1:
    return tileVnniFor<1, Prefetch>(panels);
  case 2:
    return tileVnniFor<2, Prefetch>(panels);
  case 3:
    return tileVnniFor<3, Prefetch>(panels);
  case 4:
    return tileVnniFor<4, Prefetch>(panels);
  case 5:
    return tileVnniFor<5, Prefetch>(panels);
  case 6:
    return tileVnniFor<6, Prefetch>(panels);
  case 7:
    return tileVnniFor<7, Prefetch>(panels);
  default:
    return tileVnniFor<8, Prefetch>(panels);
  }
}

// Panels kNp at a time, the item's rows swept under each group: the group
// comes from memory once and from L1 or L2 for the other row tiles.
void gemmVnni(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
              int64_t rows, int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; panel += kNp) {
    int64_t np = last - panel < kNp ? last - panel : kNp;
    for (int64_t i = 0; i < rows; i += kMr) {
      int64_t tileRows = rows - i < kMr ? rows - i : kMr;
      QuantizedRows tile{q.data + i * q.lda, q.lda, q.scale + i, q.zero + i};
      (i == 0 ? tileVnniFor<true>(tileRows, np)
              : tileVnniFor<false>(tileRows, np))(p, tile, m0 + i, panel);
    }
  }
}

// max |row[j]| over k elements; NaN is skipped, as fmaxf does (max(x, m)
// returns m where x is NaN). Four accumulators: vmaxps has a latency of 4.
float absMax(const float *row, int64_t k) {
  __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
  int64_t j = 0;
  for (; j + 4 * kPanel <= k; j += 4 * kPanel) {
    m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + j)), m0);
    m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + j + 16)), m1);
    m2 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + j + 32)), m2);
    m3 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + j + 48)), m3);
  }
  for (; j < k; j += kPanel)
    m0 = _mm512_max_ps(
        _mm512_abs_ps(_mm512_maskz_loadu_ps(columnMask(k - j), row + j)), m0);
  return _mm512_reduce_max_ps(
      _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

// Per row: v * (1 / scale). Per tensor: v / divisor, as IEEE division
// rounds it, from the reciprocal y = RN(1 / d) by Markstein's correction
// q = RN(q0 + RN(v - q0 d) y), q0 = RN(v y), where the driver found d and
// y normal (Int8Gemm.cpp); vdivps would cost 10 cycles a vector.
template <int32_t Quant> struct Scaling {
  __m512 factor, divisor;
  __attribute__((always_inline)) __m512 apply(__m512 v) const {
    if constexpr (Quant == KILN_RT_QUANT_ROW)
      return _mm512_mul_ps(v, factor);
    __m512 q0 = _mm512_mul_ps(v, factor);
    return _mm512_fmadd_ps(_mm512_fnmadd_ps(q0, divisor, v), factor, q0);
  }
};

// One row: q = clamp(round(scaling(v)) + zp, 0, 255), then zp to kp.
template <int32_t Quant>
void quantizeRowAvx512(const float *row, int64_t k, int64_t kp,
                       const Scaling<Quant> &scaling, int32_t zero,
                       uint8_t *out) {
  const __m512i zp = _mm512_set1_epi32(zero);
  // packs and packus leave lane l of each source in lane l: 4 bytes of
  // each of the 4 vectors per 128-bit lane. This puts them back in order.
  const __m512i order =
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  int64_t j = 0;
  for (; j + 4 * kPanel <= k; j += 4 * kPanel) {
    __m512i q[4];
#pragma clang loop unroll(full)
    for (int u = 0; u < 4; ++u)
      q[u] = _mm512_add_epi32(
          _mm512_cvtps_epi32(scaling.apply(_mm512_loadu_ps(row + j + 16 * u))),
          zp);
    // Signed saturation to int16, then unsigned to uint8: the clamp to
    // [0, 255] (NaN converts to INT_MIN, hence 0).
    __m512i bytes = _mm512_packus_epi16(_mm512_packs_epi32(q[0], q[1]),
                                        _mm512_packs_epi32(q[2], q[3]));
    _mm512_storeu_si512(out + j, _mm512_permutexvar_epi32(order, bytes));
  }
  const __m512i lo = _mm512_setzero_si512(), hi = _mm512_set1_epi32(255);
  for (; j < k; j += kPanel) {
    __mmask16 mask = columnMask(k - j);
    __m512 v = scaling.apply(_mm512_maskz_loadu_ps(mask, row + j));
    __m512i qi = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
    qi = _mm512_min_epi32(_mm512_max_epi32(qi, lo), hi);
    _mm512_mask_cvtepi32_storeu_epi8(out + j, mask, qi);
  }
  for (; j < kp; ++j)
    out[j] = (uint8_t)zero;
}

void quantizeAvx512(const QLinearProblem &p, int64_t m0, int64_t rows,
                    uint8_t *dst, int64_t lda, float *scale, int32_t *zero) {
  const bool tensor = p.quant == KILN_RT_QUANT_TENSOR_U8;
  if (p.sak != 1 || (tensor && !p.tensorReciprocalExact)) {
    for (int64_t i = 0; i < rows; ++i)
      quantizeRowScalar(p, m0 + i, dst + i * lda, scale[i], zero[i]);
    return;
  }
  for (int64_t i = 0; i < rows; ++i) {
    const float *row = p.a + (m0 + i) * p.sam;
    if (tensor) {
      scale[i] = p.tensorScale;
      zero[i] = p.tensorZero;
      Scaling<KILN_RT_QUANT_TENSOR_U8> scaling{
          _mm512_set1_ps(p.tensorReciprocal), _mm512_set1_ps(p.tensorDivisor)};
      quantizeRowAvx512(row, p.k, p.kp, scaling, zero[i], dst + i * lda);
      continue;
    }
    // What quantizeRowScalar computes.
    scale[i] = absMax(row, p.k) / 127.0f;
    zero[i] = 128;
    float inv = scale[i] == 0.0f ? 0.0f : 1.0f / scale[i];
    Scaling<KILN_RT_QUANT_ROW> scaling{_mm512_set1_ps(inv),
                                       _mm512_setzero_ps()};
    quantizeRowAvx512(row, p.k, p.kp, scaling, zero[i], dst + i * lda);
  }
}

//===----------------------------------------------------------------------===//
// Weight only: f32 activations times dequantized weights
//===----------------------------------------------------------------------===//

// Weight w[4g + r, n] sits in byte r of column n's dword: shifted to the
// top and back, sign-extended, it converts exactly to f32.
template <int R>
__attribute__((always_inline)) inline __m512 weightRow(__m512i raw) {
  if constexpr (R < 3)
    raw = _mm512_slli_epi32(raw, 24 - 8 * R);
  return _mm512_cvtepi32_ps(_mm512_srai_epi32(raw, 24));
}

template <int Rows, int Panels, int R>
__attribute__((always_inline)) inline void
weightOnlyStep(const float *a, int64_t sam, int64_t k,
               const __m512i (&raw)[Panels], __m512 (&acc)[Rows][Panels]) {
  __m512 w[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c)
    w[c] = weightRow<R>(raw[c]);
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m512 av = _mm512_set1_ps(a[r * sam + k]);
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_fmadd_ps(av, w[c], acc[r][c]);
  }
}

// c = (a . w) * sw + bias, then the activation; a read in place.
template <int Rows, int Panels>
void tileWeightOnly(const QLinearProblem &p, int64_t m, int64_t panel) {
  __m512 acc[Rows][Panels];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_setzero_ps();
  const float *a = p.a + m * p.sam;
  const int64_t sak = p.sak;
  const int8_t *b = p.panels + panel * p.panelStride;
  const int64_t full = p.k / 4;
  auto load = [&](int64_t g, __m512i(&raw)[Panels]) {
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      const int8_t *src = b + c * p.panelStride + g * 64;
      _mm_prefetch(reinterpret_cast<const char *>(src + kPrefetchBytes),
                   _MM_HINT_T0);
      raw[c] = _mm512_loadu_si512(src);
    }
  };
  for (int64_t g = 0; g < full; ++g) {
    __m512i raw[Panels];
    load(g, raw);
    const float *ak = a + 4 * g * sak;
    weightOnlyStep<Rows, Panels, 0>(ak, p.sam, 0, raw, acc);
    weightOnlyStep<Rows, Panels, 1>(ak, p.sam, sak, raw, acc);
    weightOnlyStep<Rows, Panels, 2>(ak, p.sam, 2 * sak, raw, acc);
    weightOnlyStep<Rows, Panels, 3>(ak, p.sam, 3 * sak, raw, acc);
  }
  if (int64_t tail = p.k - 4 * full) {
    // a has no elements past k: only the rows that are there.
    __m512i raw[Panels];
    load(full, raw);
    const float *ak = a + 4 * full * sak;
    weightOnlyStep<Rows, Panels, 0>(ak, p.sam, 0, raw, acc);
    if (tail > 1)
      weightOnlyStep<Rows, Panels, 1>(ak, p.sam, sak, raw, acc);
    if (tail > 2)
      weightOnlyStep<Rows, Panels, 2>(ak, p.sam, 2 * sak, raw, acc);
  }

  const int64_t n0 = panel * kPanel;
  const int64_t cols = p.n - n0 < Panels * kPanel ? p.n - n0 : Panels * kPanel;
  __mmask16 mask[Panels];
  __m512 scale[Panels], bias[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    mask[c] = columnMask(cols - kPanel * c);
    scale[c] = _mm512_maskz_loadu_ps(mask[c], p.scales + n0 + kPanel * c);
    bias[c] = p.bias ? _mm512_maskz_loadu_ps(mask[c], p.bias + n0 + kPanel * c)
                     : _mm512_setzero_ps();
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m512 v[Panels];
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      v[c] = _mm512_mul_ps(acc[r][c], scale[c]);
      if (p.bias)
        v[c] = _mm512_add_ps(v[c], bias[c]);
    }
    storeRow<Panels>(p.c + (m + r) * p.scm + n0 * p.scn, p.scn, v, mask, cols);
  }
  if (p.activationFn)
    p.activationFn(p.activation, p.c + m * p.scm + n0 * p.scn, Rows, cols,
                   p.scm, p.scn, n0);
}

using WeightOnlyFn = void (*)(const QLinearProblem &, int64_t, int64_t);

template <int Rows> WeightOnlyFn tileWeightOnlyFor(int64_t panels) {
  return panels == 1 ? tileWeightOnly<Rows, 1> : tileWeightOnly<Rows, 2>;
}

WeightOnlyFn tileWeightOnlyFor(int64_t rows, int64_t panels) {
  switch (rows) {
  case 1:
    return tileWeightOnlyFor<1>(panels);
  case 2:
    return tileWeightOnlyFor<2>(panels);
  case 3:
    return tileWeightOnlyFor<3>(panels);
  case 4:
    return tileWeightOnlyFor<4>(panels);
  case 5:
    return tileWeightOnlyFor<5>(panels);
  case 6:
    return tileWeightOnlyFor<6>(panels);
  case 7:
    return tileWeightOnlyFor<7>(panels);
  default:
    return tileWeightOnlyFor<8>(panels);
  }
}

void weightOnlyAvx512(const QLinearProblem &p, int64_t m0, int64_t rows,
                      int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; panel += kWeightOnlyNp) {
    int64_t np = last - panel < kWeightOnlyNp ? last - panel : kWeightOnlyNp;
    for (int64_t i = 0; i < rows; i += kMr)
      tileWeightOnlyFor(rows - i < kMr ? rows - i : kMr, np)(p, m0 + i, panel);
  }
}

void minMaxAvx512(const float *a, int64_t sam, int64_t m, int64_t k, float &lo,
                  float &hi) {
  // min(v, lo) keeps lo where v is NaN, as the scalar compare does. Two
  // accumulators each: vminps has a latency of 4.
  __m512 lo0 = _mm512_set1_ps(lo), lo1 = lo0, hi0 = _mm512_set1_ps(hi),
         hi1 = hi0;
  for (int64_t i = 0; i < m; ++i) {
    const float *row = a + i * sam;
    int64_t j = 0;
    for (; j + 2 * kPanel <= k; j += 2 * kPanel) {
      __m512 v0 = _mm512_loadu_ps(row + j), v1 = _mm512_loadu_ps(row + j + 16);
      lo0 = _mm512_min_ps(v0, lo0);
      hi0 = _mm512_max_ps(v0, hi0);
      lo1 = _mm512_min_ps(v1, lo1);
      hi1 = _mm512_max_ps(v1, hi1);
    }
    for (; j < k; j += kPanel) {
      // Lanes past k load 0, inside the range already.
      __m512 v = _mm512_maskz_loadu_ps(columnMask(k - j), row + j);
      lo0 = _mm512_min_ps(v, lo0);
      hi0 = _mm512_max_ps(v, hi0);
    }
  }
  lo = _mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1));
  hi = _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1));
}

} // namespace

const Int8Kernels kInt8Avx512Vnni = {1, quantizeAvx512, gemmVnni,
                                     weightOnlyAvx512, minMaxAvx512};

const Int8Kernels kInt8Amx = {1, quantizeAvx512, gemmAmxInt8, weightOnlyAvx512,
                              minMaxAvx512};

void gemmAvx512Vnni(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
                    int64_t rows, int64_t first, int64_t last) {
  gemmVnni(p, q, m0, rows, first, last);
}

} // namespace kiln::int8
