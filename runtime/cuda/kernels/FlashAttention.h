//===- FlashAttention.h - Fused f32 flash attention -------------*- C++ -*-===//
//
// The body of the CUDA attention kernels, written once for two compilers:
// nvcc builds it into the runtime's embedded fatbinary (FlashAttention.cu,
// with `Gpu` the real threadIdx/__syncthreads/__shfl_xor_sync), and the host
// C++ compiler builds it for the tests, which run every thread of a block as
// a fiber of an emulator (test/runtime/cudaemu) that implements the same
// `Gpu` interface. So the arithmetic and indexing the tests check are the
// device code's own.
//
// Semantics are those of the CPU kernel (runtime/src/kernels/Attention.cpp):
// out[b, h, i] = softmax_j(scale * q[b, h, i] . k[b, h / group, j]
//                          + mask[b, h, i, j], causal) . v[b, h / group, j]
// with query i seeing keys j <= i + Sk - Sq when causal, every operand at
// any strides (a broadcast mask extent has stride 0), f32 in and out with
// f32 accumulation, and a row that sees no key at all 0/0 = NaN.
//
// Design (FlashAttention, Dao et al. 2022; flash-decoding's key split):
//  - A block owns up to 16 rows of one (batch, kv head): row r is query
//    r / group of query head hkv * group + r % group, so the heads of a
//    grouped-query group share every key and value load. Each warp owns 4
//    rows; a block has 1 to 4 warps (fewer rows, fewer warps).
//  - The block walks its keys in tiles of 32 staged in shared memory; lane
//    l scores key l of the tile against its warp's 4 rows, the warp reduces
//    the tile's max and sum with butterfly shuffles, and lane l accumulates
//    output dims l, l + 32, ... (D / 32 per row) from the tile's values.
//    Scores live in the log2 domain (q pre-scaled by scale * log2 e) so the
//    online softmax uses exp2.
//  - When (batch x kv heads x row tiles) blocks would leave the GPU idle
//    (decode: Sq = 1), the keys are split over up to 64 blocks per row tile;
//    each writes its rows' (max, sum, unnormalized output) and a second
//    kernel combines them.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_KERNELS_FLASHATTENTION_H
#define KILN_RUNTIME_CUDA_KERNELS_FLASHATTENTION_H

#include <stdint.h>

#ifdef __CUDACC__
#define KILN_FA_FN __device__ __forceinline__
#define KILN_FA_INF __int_as_float(0x7f800000)
#else
#include <math.h>
#define KILN_FA_FN inline
#define KILN_FA_INF INFINITY
#endif

namespace kiln::cuda::flash {

constexpr int kWarp = 32;
constexpr int kRowsPerWarp = 4;
constexpr int kMaxWarps = 4;
constexpr int kKeyTile = 32;
// Key splits: each holds at least this many keys, at most kMaxSplits of
// them, and they are added until the grid has kTargetBlocks blocks (twice an
// H100's 132 SMs).
constexpr int kMinKeysPerSplit = 64;
constexpr int kMaxSplits = 64;
constexpr int kTargetBlocks = 264;
constexpr int kCombineThreads = 128;
constexpr float kLog2e = 1.4426950408889634f;

/// Everything a launch needs, passed by value as the kernels' one parameter.
struct Params {
  const float *q, *k, *v, *mask; // mask may be null
  float *out;
  // With splits > 1: [splits][batch * heads * sq][d] partial outputs and
  // [splits][batch * heads * sq][2] (max, sum) in the log2 domain.
  float *partialOut, *partialStats;
  int64_t qs[4], ks[4], vs[4], ms[4], os[4];
  int32_t batch, heads, kvHeads, group, sq, sk, d;
  int32_t warps, rowTiles, splits, keysPerSplit;
  float scaleLog2; // scale * log2(e)
  int32_t causal;
};

/// The grid of the attention kernel (x: row tiles x splits, y: kv heads,
/// z: batch, `warps` x 32 threads) and of the combine kernel (1-d).
struct LaunchShape {
  uint32_t grid[3], block;
  uint32_t combineGrid, combineBlock;
  int64_t partialFloats; // partialOut + partialStats, 0 without a split
};

/// Head dims with a kernel: kernelName(d) is non-null.
inline const char *kernelName(int64_t d) {
  switch (d) {
  case 16:
    return "kiln_flash_attention_f32_d16";
  case 32:
    return "kiln_flash_attention_f32_d32";
  case 64:
    return "kiln_flash_attention_f32_d64";
  case 80:
    return "kiln_flash_attention_f32_d80";
  case 96:
    return "kiln_flash_attention_f32_d96";
  case 128:
    return "kiln_flash_attention_f32_d128";
  default:
    return nullptr;
  }
}
inline const char *combineKernelName() {
  return "kiln_flash_attention_combine_f32";
}

/// Fills the launch fields of `p` (sizes already set) and `shape`. Returns
/// null, or why the problem has no kernel.
inline const char *planLaunch(Params &p, LaunchShape &shape) {
  if (!kernelName(p.d))
    return "head dim has no kernel (16, 32, 64, 80, 96, 128)";
  int64_t rows = int64_t(p.group) * p.sq;
  if (rows > INT32_MAX / 2 || p.kvHeads > 65535 || p.batch > 65535)
    return "too large for the kernel's grid";
  int64_t warps = (rows + kRowsPerWarp - 1) / kRowsPerWarp;
  p.warps = int32_t(warps < kMaxWarps ? (warps > 0 ? warps : 1) : kMaxWarps);
  int64_t rowsPerBlock = int64_t(p.warps) * kRowsPerWarp;
  p.rowTiles = int32_t((rows + rowsPerBlock - 1) / rowsPerBlock);
  int64_t blocks = int64_t(p.rowTiles) * p.kvHeads * p.batch;
  int64_t splits = 1;
  if (blocks > 0 && blocks < kTargetBlocks) {
    splits = (kTargetBlocks + blocks - 1) / blocks;
    int64_t most = (int64_t(p.sk) + kMinKeysPerSplit - 1) / kMinKeysPerSplit;
    splits = splits < most ? splits : most;
    splits = splits < kMaxSplits ? splits : kMaxSplits;
    splits = splits > 1 ? splits : 1;
  }
  int64_t perSplit = (int64_t(p.sk) + splits - 1) / splits;
  perSplit = (perSplit + kKeyTile - 1) / kKeyTile * kKeyTile;
  p.keysPerSplit = int32_t(perSplit > 0 ? perSplit : kKeyTile);
  p.splits =
      int32_t(splits > 1 ? (p.sk + p.keysPerSplit - 1) / p.keysPerSplit : 1);
  shape.grid[0] = uint32_t(int64_t(p.rowTiles) * p.splits);
  shape.grid[1] = uint32_t(p.kvHeads);
  shape.grid[2] = uint32_t(p.batch);
  shape.block = uint32_t(p.warps * kWarp);
  int64_t outRows = int64_t(p.batch) * p.heads * p.sq;
  shape.partialFloats =
      p.splits > 1 ? int64_t(p.splits) * outRows * (p.d + 2) : 0;
  shape.combineBlock = kCombineThreads;
  shape.combineGrid =
      uint32_t((outRows * p.d + kCombineThreads - 1) / kCombineThreads);
  return nullptr;
}

/// An operand as a strided view (a memref's aligned + offset, sizes,
/// strides).
struct Operand {
  const float *data;
  int64_t sizes[4], strides[4];
};

/// Fills the problem fields of `p` from the operands (mask may be null).
/// Returns null, or why they do not fit together or have no kernel; the
/// checks are the CPU kernel's plus a head dim equal for keys and values.
inline const char *setProblem(Params &p, const Operand &q, const Operand &k,
                              const Operand &v, const Operand *mask,
                              const Operand &out, float scale, bool causal) {
  const int64_t batch = q.sizes[0], heads = q.sizes[1], sq = q.sizes[2],
                d = q.sizes[3], kvHeads = k.sizes[1], sk = k.sizes[2];
  bool ok = batch >= 0 && heads >= 0 && sq >= 0 && d >= 0 && sk >= 0 &&
            kvHeads > 0 && heads % kvHeads == 0 && k.sizes[0] == batch &&
            k.sizes[3] == d && v.sizes[0] == batch && v.sizes[1] == kvHeads &&
            v.sizes[2] == sk && out.sizes[0] == batch &&
            out.sizes[1] == heads && out.sizes[2] == sq &&
            out.sizes[3] == v.sizes[3];
  const int64_t scores[4] = {batch, heads, sq, sk};
  for (int i = 0; ok && mask && i < 4; ++i)
    ok = mask->sizes[i] == 1 || mask->sizes[i] == scores[i];
  if (!ok)
    return "the operands do not fit together";
  if (v.sizes[3] != d)
    return "keys and values have different head dims";
  const int64_t limit = INT32_MAX / 2;
  if (batch > limit || heads > limit || sq > limit || sk > limit)
    return "too large for the kernel's 32-bit indices";
  p.q = q.data;
  p.k = k.data;
  p.v = v.data;
  p.mask = mask ? mask->data : nullptr;
  p.out = const_cast<float *>(out.data);
  p.partialOut = p.partialStats = nullptr;
  const Operand *views[] = {&q, &k, &v, &out};
  int64_t *strides[] = {p.qs, p.ks, p.vs, p.os};
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 4; ++i)
      strides[o][i] = views[o]->strides[i];
  // A broadcast mask extent reads its one element at every index.
  for (int i = 0; i < 4; ++i)
    p.ms[i] = mask && mask->sizes[i] != 1 ? mask->strides[i] : 0;
  p.batch = int32_t(batch);
  p.heads = int32_t(heads);
  p.kvHeads = int32_t(kvHeads);
  p.group = int32_t(heads / kvHeads);
  p.sq = int32_t(sq);
  p.sk = int32_t(sk);
  p.d = int32_t(d);
  p.scaleLog2 = scale * kLog2e;
  p.causal = causal;
  return nullptr;
}

template <int D> struct SharedTiles {
  float q[kMaxWarps * kRowsPerWarp][D]; // scaled by scaleLog2
  float k[kKeyTile][D + 1];             // +1: lane l reads row l, no conflicts
  float v[kKeyTile][D];
  float p[kMaxWarps][kRowsPerWarp][kKeyTile]; // each warp's probabilities
};

/// Butterfly all-reduce of `n` values per lane over the warp.
template <bool Max, int N, class Gpu>
KILN_FA_FN void warpAllReduce(Gpu &gpu, float (&x)[N]) {
  for (int mask = kWarp / 2; mask > 0; mask /= 2) {
    float other[N];
    gpu.shflXor(other, x, mask);
    for (int r = 0; r < N; ++r)
      x[r] = Max ? fmaxf(x[r], other[r]) : x[r] + other[r];
  }
}

/// One thread of the attention kernel; `gpu` gives its indices and the
/// block's synchronization, `sm` is the block's shared memory.
template <int D, class Gpu>
KILN_FA_FN void attentionThread(const Params &p, Gpu &gpu, SharedTiles<D> &sm) {
  // Lane l owns output dims l, l + 32, ...; below D where D is not a
  // multiple of 32.
  constexpr int kDimsPerLane = (D + kWarp - 1) / kWarp;
  constexpr int R = kRowsPerWarp;
  const int tid = gpu.threadIdxX(), lane = tid % kWarp, warp = tid / kWarp;
  const int threads = p.warps * kWarp;
  const int rowTile = int(gpu.blockIdxX() % uint32_t(p.rowTiles));
  const int split = int(gpu.blockIdxX() / uint32_t(p.rowTiles));
  const int hkv = int(gpu.blockIdxY()), b = int(gpu.blockIdxZ());
  const int rowsPerBlock = p.warps * R;
  const int rows = p.group * p.sq;
  const int row0 = rowTile * rowsPerBlock;
  const int offset = p.sk - p.sq; // causal: query i sees keys <= i + offset

  for (int e = tid; e < rowsPerBlock * D; e += threads) {
    int r = e / D, n = e % D, row = row0 + r;
    float x = 0.0f;
    if (row < rows) {
      int64_t i = row / p.group, h = int64_t(hkv) * p.group + row % p.group;
      x = p.q[b * p.qs[0] + h * p.qs[1] + i * p.qs[2] + n * p.qs[3]] *
          p.scaleLog2;
    }
    sm.q[r][n] = x;
  }

  int keyBegin = split * p.keysPerSplit;
  int keyEnd =
      p.sk - keyBegin < p.keysPerSplit ? p.sk : keyBegin + p.keysPerSplit;
  if (p.causal) {
    int lastRow = (row0 + rowsPerBlock < rows ? row0 + rowsPerBlock : rows) - 1;
    int seen = lastRow / p.group + offset + 1;
    keyEnd = seen < keyEnd ? seen : keyEnd;
  }

  int query[R], head[R];
  bool live[R];
  float rowMax[R], rowSum[R], acc[R][kDimsPerLane];
  for (int r = 0; r < R; ++r) {
    int row = row0 + warp * R + r;
    live[r] = row < rows;
    query[r] = live[r] ? row / p.group : 0;
    head[r] = hkv * p.group + (live[r] ? row % p.group : 0);
    rowMax[r] = -KILN_FA_INF;
    rowSum[r] = 0.0f;
    for (int t = 0; t < kDimsPerLane; ++t)
      acc[r][t] = 0.0f;
  }
  const float *keys = p.k + b * p.ks[0] + int64_t(hkv) * p.ks[1];
  const float *values = p.v + b * p.vs[0] + int64_t(hkv) * p.vs[1];

  for (int j0 = keyBegin; j0 < keyEnd; j0 += kKeyTile) {
    gpu.syncThreads(); // the previous tile is consumed (the queries staged)
    for (int e = tid; e < kKeyTile * D; e += threads) {
      int j = e / D, n = e % D;
      bool in = j0 + j < keyEnd;
      int64_t key = j0 + j;
      sm.k[j][n] = in ? keys[key * p.ks[2] + n * p.ks[3]] : 0.0f;
      sm.v[j][n] = in ? values[key * p.vs[2] + n * p.vs[3]] : 0.0f;
    }
    gpu.syncThreads();

    // Scores of key j0 + lane against the warp's rows.
    float s[R];
    for (int r = 0; r < R; ++r)
      s[r] = 0.0f;
    for (int n = 0; n < D; ++n) {
      float kn = sm.k[lane][n];
      for (int r = 0; r < R; ++r)
        s[r] += sm.q[warp * R + r][n] * kn;
    }
    const int key = j0 + lane;
    for (int r = 0; r < R; ++r) {
      bool visible =
          live[r] && key < keyEnd && (!p.causal || key <= query[r] + offset);
      if (visible && p.mask)
        s[r] += p.mask[b * p.ms[0] + head[r] * p.ms[1] + query[r] * p.ms[2] +
                       key * p.ms[3]] *
                kLog2e;
      s[r] = visible ? s[r] : -KILN_FA_INF;
    }

    // Online softmax: the tile's max and sum over the warp.
    float tileMax[R], newMax[R], prob[R];
    for (int r = 0; r < R; ++r)
      tileMax[r] = s[r];
    warpAllReduce<true>(gpu, tileMax);
    for (int r = 0; r < R; ++r) {
      newMax[r] = fmaxf(rowMax[r], tileMax[r]);
      // Every key so far hidden: nothing to add (and exp2(-inf - -inf)
      // would be NaN).
      bool none = newMax[r] == -KILN_FA_INF;
      prob[r] = none ? 0.0f : exp2f(s[r] - newMax[r]);
      float rescale = none ? 1.0f : exp2f(rowMax[r] - newMax[r]);
      rowMax[r] = newMax[r];
      rowSum[r] *= rescale;
      for (int t = 0; t < kDimsPerLane; ++t)
        acc[r][t] *= rescale;
      sm.p[warp][r][lane] = prob[r];
    }
    warpAllReduce<false>(gpu, prob);
    for (int r = 0; r < R; ++r)
      rowSum[r] += prob[r];
    gpu.syncWarp();

    for (int j = 0; j < kKeyTile; ++j) {
      float pj[R];
      for (int r = 0; r < R; ++r)
        pj[r] = sm.p[warp][r][j];
      for (int t = 0; t < kDimsPerLane; ++t) {
        if (D % kWarp && lane + t * kWarp >= D)
          break;
        float vj = sm.v[j][lane + t * kWarp];
        for (int r = 0; r < R; ++r)
          acc[r][t] += pj[r] * vj;
      }
    }
  }

  const int64_t outRows = int64_t(p.batch) * p.heads * p.sq;
  for (int r = 0; r < R; ++r) {
    if (!live[r])
      continue;
    if (p.splits == 1) {
      float *o = p.out + b * p.os[0] + head[r] * p.os[1] + query[r] * p.os[2];
      float inv = 1.0f / rowSum[r]; // 0/0 where no key is seen, as on the CPU
      for (int t = 0; t < kDimsPerLane && lane + t * kWarp < D; ++t)
        o[(lane + t * kWarp) * p.os[3]] = acc[r][t] * inv;
      continue;
    }
    int64_t row = (int64_t(b) * p.heads + head[r]) * p.sq + query[r];
    int64_t slot = split * outRows + row;
    for (int t = 0; t < kDimsPerLane && lane + t * kWarp < D; ++t)
      p.partialOut[slot * D + lane + t * kWarp] = acc[r][t];
    if (lane == 0) {
      p.partialStats[2 * slot] = rowMax[r];
      p.partialStats[2 * slot + 1] = rowSum[r];
    }
  }
}

/// One thread of the combine kernel: output element (row, n) from the
/// splits' partial results.
template <class Gpu> KILN_FA_FN void combineThread(const Params &p, Gpu &gpu) {
  const int64_t outRows = int64_t(p.batch) * p.heads * p.sq;
  const int64_t e =
      int64_t(gpu.blockIdxX()) * gpu.blockDimX() + gpu.threadIdxX();
  if (e >= outRows * p.d)
    return;
  const int64_t row = e / p.d, n = e % p.d;
  float most = -KILN_FA_INF;
  for (int s = 0; s < p.splits; ++s)
    most = fmaxf(most, p.partialStats[2 * (s * outRows + row)]);
  float sum = 0.0f, o = 0.0f;
  if (most != -KILN_FA_INF)
    for (int s = 0; s < p.splits; ++s) {
      int64_t slot = s * outRows + row;
      float w = exp2f(p.partialStats[2 * slot] - most);
      sum += w * p.partialStats[2 * slot + 1];
      o += w * p.partialOut[slot * p.d + n];
    }
  const int64_t i = row % p.sq, h = row / p.sq % p.heads,
                b = row / p.sq / p.heads;
  p.out[b * p.os[0] + h * p.os[1] + i * p.os[2] + n * p.os[3]] =
      o * (1.0f / sum);
}

} // namespace kiln::cuda::flash

#endif // KILN_RUNTIME_CUDA_KERNELS_FLASHATTENTION_H
