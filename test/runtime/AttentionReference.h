//===- AttentionReference.h - Attention test reference ----------*- C++ -*-===//
//
// Shared by the CPU kernel's tests (AttentionTest.cpp) and the CUDA kernel's
// emulated ones (CudaFlashAttentionTest.cpp): strided operands over their
// own storage and a float64 attention computed the plain way.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_RUNTIME_ATTENTIONREFERENCE_H
#define KILN_TEST_RUNTIME_ATTENTIONREFERENCE_H

#include "kernels/Kernels.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace kiln::test {

// A [d0, d1, d2, d3] view over its own storage with a nonzero offset.
// `sequenceMajor` lays it out as [d0, d2, d1, d3] (a [B, S, H, D] buffer seen
// as [B, H, S, D]); `padding` rows follow each run of d2, as in a KV cache
// longer than its valid part; `inner` spaces the innermost dim.
struct Tensor4 {
  std::vector<float> storage;
  kiln_memref4_f32 ref;

  Tensor4(const int64_t (&sizes)[4], std::mt19937 &rng, float lo = -1,
          float hi = 1, bool sequenceMajor = false, int64_t padding = 0,
          int64_t inner = 1) {
    const int64_t perm[4] = {0, sequenceMajor ? 2 : 1, sequenceMajor ? 1 : 2,
                             3};
    int64_t strides[4];
    int64_t stride = inner;
    for (int i = 3; i >= 0; --i) {
      strides[perm[i]] = stride;
      stride *= sizes[perm[i]] + (perm[i] == 2 ? padding : 0);
    }
    int64_t offset = 3;
    storage.assign(size_t(offset + stride + 16), NAN);
    std::uniform_real_distribution<float> dist(lo, hi);
    ref = {storage.data(),
           storage.data(),
           offset,
           {sizes[0], sizes[1], sizes[2], sizes[3]},
           {strides[0], strides[1], strides[2], strides[3]}};
    for (int64_t a = 0; a < sizes[0]; ++a)
      for (int64_t b = 0; b < sizes[1]; ++b)
        for (int64_t c = 0; c < sizes[2]; ++c)
          for (int64_t d = 0; d < sizes[3]; ++d)
            at(a, b, c, d) = dist(rng);
  }

  float &at(int64_t a, int64_t b, int64_t c, int64_t d) {
    if (ref.sizes[0] == 1)
      a = 0;
    if (ref.sizes[1] == 1)
      b = 0;
    if (ref.sizes[2] == 1)
      c = 0;
    if (ref.sizes[3] == 1)
      d = 0;
    return ref.aligned[ref.offset + a * ref.strides[0] + b * ref.strides[1] +
                       c * ref.strides[2] + d * ref.strides[3]];
  }
};

/// out[b, h, i, e] of softmax(scale * q k^T + mask, causal) v in float64,
/// dense [B, H, Sq, Dv]; query head h reads key/value head h / (H / Hkv),
/// query i sees keys j <= i + Sk - Sq when causal. `mask` may be null.
inline std::vector<double> referenceAttention(Tensor4 &q, Tensor4 &k,
                                              Tensor4 &v, Tensor4 *mask,
                                              double scale, bool causal) {
  const int64_t batch = q.ref.sizes[0], heads = q.ref.sizes[1],
                sq = q.ref.sizes[2], d = q.ref.sizes[3], sk = k.ref.sizes[2],
                dv = v.ref.sizes[3], group = heads / k.ref.sizes[1];
  std::vector<double> out(size_t(batch * heads * sq * dv));
  std::vector<double> s(static_cast<size_t>(sk));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < sq; ++i) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < sk; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < d; ++e)
            dot += double(q.at(b, h, i, e)) * k.at(b, h / group, j, e);
          s[j] = scale * dot;
          if (mask)
            s[j] += mask->at(b, h, i, j);
          if (causal && j > i + sk - sq)
            s[j] = -INFINITY;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < sk; ++j)
          sum += (s[j] = std::exp(s[j] - mx));
        for (int64_t e = 0; e < dv; ++e) {
          double want = 0;
          for (int64_t j = 0; j < sk; ++j)
            want += s[j] / sum * v.at(b, h / group, j, e);
          out[size_t(((b * heads + h) * sq + i) * dv + e)] = want;
        }
      }
  return out;
}

} // namespace kiln::test

#endif
