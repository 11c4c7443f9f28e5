//===- Int4GemmAvx512.cpp - int4 weight-only GEMM kernel for AVX-512 ------===//
//
// The kernel of kInt4Avx512 (Int4GemmKernels.h). Compiled with -mavx512f
// (runtime/CMakeLists.txt); the driver calls it only on CPUs that have it.
//
// One zmm load of a packed octet (Int4Packing.h) holds 8 rows of K for a
// panel's 16 columns, 8 nibbles a lane. Row r is then one vpsrld by 4r and
// one vpermps, which reads the low 4 bits of each lane as an index into the
// 16 values -8 .. 7: 16 dequantized weights (less their scale) for two
// instructions, and no mask, widening or conversion. Each row of the tile
// multiplies them by its broadcast activation into a per-group sum; at the
// end of the group the sums are scaled into the accumulators.
//
// A tile of up to 4 rows keeps both the group sums and the accumulators in
// registers: 4 x 2 or 2 x 4 panels (16 zmm of each). Few rows take more
// panels so that a single row still has four independent FMA chains
// against vfmadd's latency of 4. Tiles of 5 to 8 rows (a batch-8 decode
// step, and prefill's rows) take 2 panels and scale the weights as they
// unpack them (one vmulps, or with zero points one FMA, per 16 weights
// and 8 rows), which frees the group sums' registers: 16 accumulators,
// each unpacked vector serving 8 rows and each broadcast 2 panels.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int4GemmKernels.h"
#include "kernels/x86/TileStoreAvx512.h"

#include <immintrin.h>

namespace kiln::int4 {

namespace {

constexpr int kPanel = 16;
constexpr int kMr = 8;
constexpr int kMaxPanels = 4;
// Bytes of each panel's stream fetched ahead of use: each octet step reads
// one cache line per panel, and a decode tile otherwise waits on memory for
// each (as in the int8 kernel, x86/Int8GemmAvx512Vnni.cpp). Measured on a
// decode step of 768 x 3072 from memory, 2 threads: 512, 1024 and 2048
// bytes within 5% of each other, none 114 us instead of 67; carrying each
// stream on into the next tile's panel, 67 us instead of 76.
constexpr int64_t kPrefetchBytes = 1024;

// Sum of a[0 .. kn) at stride sak.
float rowSum(const float *a, int64_t sak, int64_t kn) {
  if (sak != 1) {
    float s = 0;
    for (int64_t j = 0; j < kn; ++j)
      s += a[j * sak];
    return s;
  }
  __m512 s = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + kPanel <= kn; j += kPanel)
    s = _mm512_add_ps(s, _mm512_loadu_ps(a + j));
  if (j < kn)
    s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(columnMask(kn - j), a + j));
  return _mm512_reduce_add_ps(s);
}

// Row R of the loaded octets times each row's activation at that k (ak
// points at row 0's), into the group sums.
template <int Rows, int Panels, int R>
__attribute__((always_inline)) inline void
step(const float *ak, int64_t sam, const __m512i (&raw)[Panels], __m512 table,
     __m512 (&sum)[Rows][Panels]) {
  __m512 w[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c)
    w[c] = _mm512_permutexvar_ps(R ? _mm512_srli_epi32(raw[c], 4 * R) : raw[c],
                                 table);
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m512 av = _mm512_set1_ps(ak[r * sam]);
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      sum[r][c] = _mm512_fmadd_ps(av, w[c], sum[r][c]);
  }
}

// The 16 values u - 8 that vpermps looks the nibbles up in.
__attribute__((always_inline)) inline __m512 nibbleTable() {
  return _mm512_setr_ps(-8.0f, -7.0f, -6.0f, -5.0f, -4.0f, -3.0f, -2.0f, -1.0f,
                        0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f);
}

// Octet `o` of each of a tile's panels (its group's nibbles at `nibbles`,
// the tile's first panel at `b`), each stream fetched ahead. Past the end
// of its panel, a stream's prefetch goes on into the same panel of the next
// tile, not into the next panel, which this tile already reads.
template <int Panels>
__attribute__((always_inline)) inline void
loadOctets(const uint8_t *b, const uint8_t *nibbles, int64_t stride, int64_t o,
           __m512i (&raw)[Panels]) {
  int64_t ahead = (nibbles - b) + o * 64 + kPrefetchBytes;
  const uint8_t *next =
      b + ahead + (ahead >= stride ? (Panels - 1) * stride : 0);
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    _mm_prefetch(reinterpret_cast<const char *>(next + c * stride),
                 _MM_HINT_T0);
    raw[c] = _mm512_loadu_si512(nibbles + c * stride + o * 64);
  }
}

// The row of K in the low nibbles of the loaded octets, scaled (w = (u - 8)
// * s, plus the offset with zero points), times each row's activation at
// that k, into the accumulators.
template <int Rows, int Panels, bool ZeroPoints>
__attribute__((always_inline)) inline void
scaledStep(const float *ak, int64_t sam, const __m512i (&raw)[Panels],
           __m512 table, const __m512 (&scale)[Panels],
           const __m512 (&offset)[Panels], __m512 (&acc)[Rows][Panels]) {
  __m512 w[Panels];
#pragma clang loop unroll(full)
  for (int c = 0; c < Panels; ++c) {
    __m512 v = _mm512_permutexvar_ps(raw[c], table);
    w[c] = ZeroPoints ? _mm512_fmadd_ps(v, scale[c], offset[c])
                      : _mm512_mul_ps(v, scale[c]);
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r) {
    __m512 av = _mm512_set1_ps(ak[r * sam]);
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_fmadd_ps(av, w[c], acc[r][c]);
  }
}

// The tile of 5 to 8 rows x 2 panels: the weights are scaled as they are
// unpacked, so the products go straight into the accumulators and no group
// sums take registers (16 accumulators where group sums would need 32).
// Each unpacked vector serves 8 rows and each broadcast 2 panels, where
// the 8 x 1 tile with group sums loads a broadcast per FMA and keeps only 8
// FMA chains going.
template <int Rows, bool ZeroPoints>
void scaledTile(const Int4Problem &p, int64_t m, int64_t panel) {
  constexpr int Panels = 2;
  __m512 acc[Rows][Panels];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_setzero_ps();
  const __m512 table = nibbleTable();
  const float *a = p.a + m * p.sam;
  const int64_t sam = p.sam, sak = p.sak, stride = p.panelStride;
  const uint8_t *b = p.packed + panel * stride;
  for (int64_t g = 0; g < p.groupCount; ++g) {
    const uint8_t *block = b + g * p.groupBytes;
    const uint8_t *nibbles = block + p.headerBytes;
    const int64_t k0 = g * p.group;
    const int64_t kn = p.k - k0 < p.group ? p.k - k0 : p.group;
    __m512 scale[Panels], offset[Panels];
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      scale[c] = _mm512_loadu_ps(block + c * stride);
      offset[c] = ZeroPoints ? _mm512_loadu_ps(block + c * stride + 64)
                             : _mm512_setzero_ps();
    }
    // One row of K at a time, each shifting the octets on by 4: unrolled,
    // the compiler unpacks all 8 rows ahead and spills them. The last
    // octet may hold fewer rows (a has no elements past k).
    for (int64_t k = 0; k < kn; k += 8) {
      __m512i raw[Panels];
      loadOctets<Panels>(b, nibbles, stride, k / 8, raw);
      const float *ak = a + (k0 + k) * sak;
      const int64_t rowsOfK = kn - k < 8 ? kn - k : 8;
#pragma clang loop unroll(disable)
      for (int64_t rk = 0; rk < rowsOfK; ++rk) {
        scaledStep<Rows, Panels, ZeroPoints>(ak + rk * sak, sam, raw, table,
                                             scale, offset, acc);
#pragma clang loop unroll(full)
        for (int c = 0; c < Panels; ++c)
          raw[c] = _mm512_srli_epi32(raw[c], 4);
      }
    }
  }
  storeTile<Rows, Panels>(p, m, panel * kPanel, acc);
}

// Rows x (Panels * 16) of c at row m, panel `panel`: bias added, then the
// activation.
template <int Rows, int Panels>
void tile(const Int4Problem &p, int64_t m, int64_t panel) {
  __m512 acc[Rows][Panels];
#pragma clang loop unroll(full)
  for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c)
      acc[r][c] = _mm512_setzero_ps();
  const __m512 table = nibbleTable();
  const float *a = p.a + m * p.sam;
  const int64_t sam = p.sam, sak = p.sak, stride = p.panelStride;
  const uint8_t *b = p.packed + panel * stride;
  const int64_t groupCount = p.groupCount;
  for (int64_t g = 0; g < groupCount; ++g) {
    const uint8_t *block = b + g * p.groupBytes;
    const uint8_t *nibbles = block + p.headerBytes;
    const int64_t k0 = g * p.group;
    const int64_t kn = p.k - k0 < p.group ? p.k - k0 : p.group;
    __m512 sum[Rows][Panels];
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r)
#pragma clang loop unroll(full)
      for (int c = 0; c < Panels; ++c)
        sum[r][c] = _mm512_setzero_ps();
    auto load = [&](int64_t o, __m512i(&raw)[Panels]) {
      loadOctets<Panels>(b, nibbles, stride, o, raw);
    };
    const int64_t octets = kn / 8;
    for (int64_t o = 0; o < octets; ++o) {
      __m512i raw[Panels];
      load(o, raw);
      const float *ak = a + (k0 + 8 * o) * sak;
      step<Rows, Panels, 0>(ak, sam, raw, table, sum);
      step<Rows, Panels, 1>(ak + sak, sam, raw, table, sum);
      step<Rows, Panels, 2>(ak + 2 * sak, sam, raw, table, sum);
      step<Rows, Panels, 3>(ak + 3 * sak, sam, raw, table, sum);
      step<Rows, Panels, 4>(ak + 4 * sak, sam, raw, table, sum);
      step<Rows, Panels, 5>(ak + 5 * sak, sam, raw, table, sum);
      step<Rows, Panels, 6>(ak + 6 * sak, sam, raw, table, sum);
      step<Rows, Panels, 7>(ak + 7 * sak, sam, raw, table, sum);
    }
    if (int64_t tail = kn - 8 * octets) {
      // a has no elements past k: only the rows that are there.
      __m512i raw[Panels];
      load(octets, raw);
      const float *ak = a + (k0 + 8 * octets) * sak;
      step<Rows, Panels, 0>(ak, sam, raw, table, sum);
      if (tail > 1)
        step<Rows, Panels, 1>(ak + sak, sam, raw, table, sum);
      if (tail > 2)
        step<Rows, Panels, 2>(ak + 2 * sak, sam, raw, table, sum);
      if (tail > 3)
        step<Rows, Panels, 3>(ak + 3 * sak, sam, raw, table, sum);
      if (tail > 4)
        step<Rows, Panels, 4>(ak + 4 * sak, sam, raw, table, sum);
      if (tail > 5)
        step<Rows, Panels, 5>(ak + 5 * sak, sam, raw, table, sum);
      if (tail > 6)
        step<Rows, Panels, 6>(ak + 6 * sak, sam, raw, table, sum);
    }
#pragma clang loop unroll(full)
    for (int c = 0; c < Panels; ++c) {
      __m512 scale = _mm512_loadu_ps(block + c * stride);
#pragma clang loop unroll(full)
      for (int r = 0; r < Rows; ++r)
        acc[r][c] = _mm512_fmadd_ps(sum[r][c], scale, acc[r][c]);
    }
    if (p.zeroPoints) {
      // (q - zp) * s = (u - 8) * s + offset, summed over the group.
#pragma clang loop unroll(full)
      for (int r = 0; r < Rows; ++r) {
        __m512 asum = _mm512_set1_ps(rowSum(a + r * sam + k0 * sak, sak, kn));
#pragma clang loop unroll(full)
        for (int c = 0; c < Panels; ++c)
          acc[r][c] = _mm512_fmadd_ps(
              asum, _mm512_loadu_ps(block + c * stride + 64), acc[r][c]);
      }
    }
  }

  storeTile<Rows, Panels>(p, m, panel * kPanel, acc);
}

using TileFn = void (*)(const Int4Problem &, int64_t, int64_t);

// The widest tile: with group sums, those and the accumulators must fit the
// 32 zmm (2 * rows * panels <= 16); from kScaledRows rows, scaledTile's 2
// panels.
constexpr int kScaledRows = 5;
constexpr int64_t maxPanels(int64_t rows) { return rows <= 2 ? kMaxPanels : 2; }

template <int Rows> TileFn tileFor(const Int4Problem &p, int64_t panels) {
  if constexpr (Rows >= kScaledRows) {
    if (panels >= 2)
      return p.zeroPoints ? scaledTile<Rows, true> : scaledTile<Rows, false>;
    return tile<Rows, 1>;
  } else if constexpr (maxPanels(Rows) == 4) {
    switch (panels) {
    case 1:
      return tile<Rows, 1>;
    case 2:
      return tile<Rows, 2>;
    case 3:
      return tile<Rows, 3>;
    default:
      return tile<Rows, 4>;
    }
  } else {
    return panels == 1 ? tile<Rows, 1> : tile<Rows, 2>;
  }
}

TileFn tileFor(const Int4Problem &p, int64_t rows, int64_t panels) {
  switch (rows) {
  case 1:
    return tileFor<1>(p, panels);
  case 2:
    return tileFor<2>(p, panels);
  case 3:
    return tileFor<3>(p, panels);
  case 4:
    return tileFor<4>(p, panels);
  case 5:
    return tileFor<5>(p, panels);
  case 6:
    return tileFor<6>(p, panels);
  case 7:
    return tileFor<7>(p, panels);
  default:
    return tileFor<8>(p, panels);
  }
}

// Up to 8 rows: one tile under each group of panels, which streams the
// panels once. More: tiles of 8 rows x 2 panels swept down the rows under
// each pair of panels, which stays in L1 and L2.
void gemmAvx512(const Int4Problem &p, int64_t m0, int64_t rows, int64_t first,
                int64_t last) {
  const int64_t width = maxPanels(rows);
  for (int64_t panel = first; panel < last; panel += width) {
    int64_t np = last - panel < width ? last - panel : width;
    for (int64_t i = 0; i < rows; i += kMr) {
      int64_t r = rows - i < kMr ? rows - i : kMr;
      tileFor(p, r, np)(p, m0 + i, panel);
    }
  }
}

} // namespace

const Int4Kernels kInt4Avx512 = {gemmAvx512, kMaxPanels};

} // namespace kiln::int4
