//===- Int4GemmQ8Avx512Vnni.cpp - int4 x int8 GEMM for AVX-512 VNNI -------===//
//
// The kernels of kInt4Q8Avx512Vnni (Int4GemmKernels.h). Compiled with
// -mavx512f -mavx512bw -mavx512vl -mavx512vnni (runtime/CMakeLists.txt);
// the driver calls them only on CPUs that have all four (CpuFeatures.h).
//
// One zmm load of a packed octet (Int4Packing.h) holds 8 rows of K for a
// panel's 16 columns, two nibbles a byte. Masking the low nibbles gives
// rows 0, 2, 4, 6 of each column as 4 unsigned bytes a lane, and shifting
// by 4 first rows 1, 3, 5, 7: each is one vpdpbusd against 4 int8
// activations broadcast, which Q8Rows stores in that order. The int32 sums
// of a group are of u * q with u = w + 8; at the group's end 8 * sum q
// comes off, and the difference is scaled into f32 accumulators. The
// activations' row scale multiplies them once at the end.
//
// Tiles are up to 8 rows x 2 panels, or 4 rows x 4: the int32 group sums
// take up to 16 zmm and the unpacked nibbles 2 a panel. Each unpacked
// vector serves every row of the tile, and each activation broadcast both
// panels. The f32 accumulators of 8 x 2 do not fit beside them and stay on
// the stack between groups, a load and a store per 8 vpdpbusd; still, 8 x 2
// beat 8 x 1 (kiln_int8_gemm_bench 1 "decode qkv", 8 x 768 x 2304, four
// alternating runs: 79-82 -> 70-76 us with the weights in cache, 101-111 ->
// 93-95 streamed from memory). 3 and 4 rows likewise take 4 panels (4 x 768
// x 2304, best of four alternating runs in cache: 40.4 -> 37.4 us; 4 x 768 x
// 3072, best of three: 58.6 -> 56.3; no change streamed). (Splitting each
// chain in two, low and high nibbles, measured no faster: the split adds an
// add.)
//
//===----------------------------------------------------------------------===//

#include "kernels/Int4GemmKernels.h"
#include "kernels/x86/TileStoreAvx512.h"

#include <immintrin.h>
#include <string.h>

namespace kiln::int4 {

namespace {

constexpr int kPanel = 16;
constexpr int kMr = 8;
constexpr int kMaxPanels = 4;
// As in the f32 kernel (x86/Int4GemmAvx512.cpp), each octet step reads one
// cache line of each panel's stream, fetched this far ahead, on into the
// same panel of the next tile; but this kernel consumes the stream faster.
// Measured cold (kiln_int8_gemm_bench 2, 8 x 768 x 3072, weights streamed
// from memory): 1024 bytes 95.7 us, 2048 85.5, 4096 80.4, 8192 83.2.
constexpr int64_t kPrefetchBytes = 4096;

//===----------------------------------------------------------------------===//
// Quantizing the activations
//===----------------------------------------------------------------------===//

// Octet order of 16 values: 0, 2, 4, 6, 1, 3, 5, 7 within each 8.
__attribute__((always_inline)) inline __m512i octetOrder() {
  return _mm512_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13,
                           15);
}

void quantizeRow(const Int4Problem &p, int64_t i, const Q8Rows &q,
                 int64_t row) {
  const float *a = p.a + i * p.sam;
  const int64_t k = p.k;
  __m512 vmax = _mm512_setzero_ps();
  for (int64_t j = 0; j < k; j += kPanel) {
    __m512 v = _mm512_maskz_loadu_ps(columnMask(k - j), a + j);
    // A NaN is the first operand: vmaxps then keeps the running maximum,
    // as fmaxf does in the scalar reference.
    vmax = _mm512_max_ps(_mm512_abs_ps(v), vmax);
  }
  const float s = _mm512_reduce_max_ps(vmax) / 127.0f;
  const __m512 inv = _mm512_set1_ps(s == 0.0f ? 0.0f : 1.0f / s);
  const __m512i order = octetOrder();
  int8_t *dst = q.data + row * q.lda;
  auto *corr = reinterpret_cast<int32_t *>(dst + q.corrOffset);
  auto *sums = reinterpret_cast<float *>(dst + q.sumOffset);
  for (int64_t g = 0; g < p.groupCount; ++g) {
    __m512i total = _mm512_setzero_si512();
    for (int64_t r = 0; r < p.group; r += kPanel) {
      const int64_t at = g * p.group + r;
      // The group may end half way through 16 (groups are multiples of 8).
      const int64_t here = p.group - r < kPanel ? p.group - r : kPanel;
      __m512 v = _mm512_maskz_loadu_ps(
          columnMask((k - at < here ? k - at : here)), a + at);
      v = _mm512_permutexvar_ps(order, _mm512_mul_ps(v, inv));
      __m128i bytes = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(v));
      total = _mm512_add_epi32(total, _mm512_cvtepi8_epi32(bytes));
      if (here == kPanel)
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + at), bytes);
      else
        _mm_storel_epi64(reinterpret_cast<__m128i *>(dst + at), bytes);
    }
    int32_t sum = _mm512_reduce_add_epi32(total);
    corr[g] = 8 * sum;
    sums[g] = (float)sum;
  }
  q.scale[row] = s;
}

void quantizeVnni(const Int4Problem &p, int64_t m0, int64_t rows,
                  const Q8Rows &q) {
  for (int64_t i = 0; i < rows; ++i) {
    if (p.sak == 1)
      quantizeRow(p, m0 + i, q, i);
    else
      quantizeRowQ8Scalar(p, m0 + i, q, i);
  }
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

// Rows x (Panels * 16) of c at row m, panel `panel`, from q's first rows.
template <int Rows, int Panels, bool ZeroPoints>
void tile(const Int4Problem &p, const Q8Rows &q, int64_t m, int64_t panel) {
  __m512 acc[Rows][Panels];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_setzero_ps();
  const __m512i low = _mm512_set1_epi8(0x0f);
  const int64_t stride = p.panelStride, octets = p.group / 8;
  const uint8_t *b = p.packed + panel * stride;
  for (int64_t g = 0; g < p.groupCount; ++g) {
    const uint8_t *block = b + g * p.groupBytes;
    const uint8_t *nibbles = block + p.headerBytes;
    const int8_t *qg = q.data + g * p.group;
    __m512i dot[Rows][Panels];
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c)
        dot[r][c] = _mm512_setzero_si512();
    for (int64_t o = 0; o < octets; ++o) {
      int64_t ahead = (nibbles - b) + o * 64 + kPrefetchBytes;
      const uint8_t *next =
          b + ahead + (ahead >= stride ? (Panels - 1) * stride : 0);
      __m512i lo[Panels], hi[Panels];
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c) {
        _mm_prefetch(reinterpret_cast<const char *>(next + c * stride),
                     _MM_HINT_T0);
        __m512i raw = _mm512_loadu_si512(nibbles + c * stride + o * 64);
        lo[c] = _mm512_and_si512(raw, low);
        hi[c] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
      }
#pragma clang loop unroll(full)
      for (int r = 0; r < Rows; ++r) {
        int32_t even, odd;
        memcpy(&even, qg + r * q.lda + 8 * o, 4);
        memcpy(&odd, qg + r * q.lda + 8 * o + 4, 4);
        __m512i ae = _mm512_set1_epi32(even), ao = _mm512_set1_epi32(odd);
#pragma clang loop unroll(full)
        for (int c = 0; c < Panels; ++c) {
          dot[r][c] = _mm512_dpbusd_epi32(dot[r][c], lo[c], ae);
          dot[r][c] = _mm512_dpbusd_epi32(dot[r][c], hi[c], ao);
        }
      }
    }
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      __m512 scale = _mm512_loadu_ps(block + c * stride);
      __m512 offset = ZeroPoints ? _mm512_loadu_ps(block + c * stride + 64)
                                 : _mm512_setzero_ps();
#pragma clang loop unroll(full)
      for (int r = 0; r < Rows; ++r) {
        __m512i exact =
            _mm512_sub_epi32(dot[r][c], _mm512_set1_epi32(q.corr(r)[g]));
        acc[r][c] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(exact), scale, acc[r][c]);
        if constexpr (ZeroPoints)
          acc[r][c] =
              _mm512_fmadd_ps(_mm512_set1_ps(q.sums(r)[g]), offset, acc[r][c]);
      }
    }
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m512 sa = _mm512_set1_ps(q.scale[r]);
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_mul_ps(acc[r][c], sa);
  }
  storeTile<Rows, Panels>(p, m, panel * kPanel, acc);
}

using TileFn = void (*)(const Int4Problem &, const Q8Rows &, int64_t, int64_t);

constexpr int64_t maxPanels(int64_t rows) {
  return rows <= 4 ? 4 : rows <= 8 ? 2 : 1;
}

template <int Rows, int Panels> TileFn tileFor(bool zeroPoints) {
  return zeroPoints ? tile<Rows, Panels, true> : tile<Rows, Panels, false>;
}

template <int Rows> TileFn tileFor(bool zeroPoints, int64_t panels) {
  switch (panels < maxPanels(Rows) ? panels : maxPanels(Rows)) {
  case 1:
    return tileFor<Rows, 1>(zeroPoints);
  case 2:
    if constexpr (maxPanels(Rows) >= 2)
      return tileFor<Rows, 2>(zeroPoints);
    [[fallthrough]];
  case 3:
    if constexpr (maxPanels(Rows) >= 3)
      return tileFor<Rows, 3>(zeroPoints);
    [[fallthrough]];
  default:
    if constexpr (maxPanels(Rows) >= 4)
      return tileFor<Rows, 4>(zeroPoints);
    return tileFor<Rows, 1>(zeroPoints);
  }
}

TileFn tileFor(bool zeroPoints, int64_t rows, int64_t panels) {
  switch (rows) {
  case 1:
    return tileFor<1>(zeroPoints, panels);
  case 2:
    return tileFor<2>(zeroPoints, panels);
  case 3:
    return tileFor<3>(zeroPoints, panels);
  case 4:
    return tileFor<4>(zeroPoints, panels);
  case 5:
    return tileFor<5>(zeroPoints, panels);
  case 6:
    return tileFor<6>(zeroPoints, panels);
  case 7:
    return tileFor<7>(zeroPoints, panels);
  default:
    return tileFor<8>(zeroPoints, panels);
  }
}

// Up to 8 rows: one tile under each group of panels, which streams the
// panels once. More: tiles of 8 rows x 1 panel swept down the rows under
// each panel, which then comes from L1 or L2.
void gemmVnni(const Int4Problem &p, const Q8Rows &q, int64_t m0, int64_t rows,
              int64_t first, int64_t last) {
  const int64_t width = maxPanels(rows);
  for (int64_t panel = first; panel < last; panel += width) {
    int64_t np = last - panel < width ? last - panel : width;
    for (int64_t i = 0; i < rows; i += kMr) {
      int64_t r = rows - i < kMr ? rows - i : kMr;
      Q8Rows tileRows = q;
      tileRows.data = q.data + i * q.lda;
      tileRows.scale = q.scale + i;
      tileFor(p.zeroPoints, r, np)(p, tileRows, m0 + i, panel);
    }
  }
}

} // namespace

const Int4Q8Kernels kInt4Q8Avx512Vnni = {quantizeVnni, gemmVnni, kMaxPanels};

} // namespace kiln::int4
