//===- AttentionBench.cpp - Decode-step attention over a KV cache ---------===//
//
// usage: kiln_attention_bench [batch [past [threads [queries [f32|bf16|f8
//                              [padded]]]]]]
// Times the attention of one GPT-2-small step: 12 layers, each `queries`
// (default 1: a decode step) per sequence and 12 heads of 64 over its own
// in-place cache ([batch, 12, 1024, 64], `past` + `queries` keys in use), so
// the keys and values come from memory as in a long generation. Each call
// appends the new rows as kiln_session_run_cached's steps do, into an f32
// cache, a bf16 one (kilnc --kv-cache-type=bf16) or an 8-bit float one
// (--kv-cache-type=f8e4m3fn). `padded` leading keys of every row are
// masked as a left-padded row's are (-3.4e38 added, as Hugging Face's
// masks do). Prints the cache stream in GB/s and GFLOP/s.
//
//===----------------------------------------------------------------------===//

#include "BenchTiming.h"
#include "PoolContext.h"
#include "kernels/Attention.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace kiln;

// One layer's attention over its cache of `Memref` elements (keys k, values
// v, `sizes` and `strides`), the first `past` positions the past and the new
// rows nk and nv appended: `kernel(keys, values, append)`.
template <class Append, class Memref, class Elem, class Kernel>
void appendLayer(Elem *k, Elem *v, const int64_t (&sizes)[4],
                 const int64_t (&strides)[4], int64_t past,
                 const kiln_memref4_f32 &nk, const kiln_memref4_f32 &nv,
                 Kernel kernel) {
  Memref km{k, k, 0, {}, {}};
  for (int i = 0; i < 4; ++i) {
    km.sizes[i] = sizes[i];
    km.strides[i] = strides[i];
  }
  Memref vm = km;
  vm.allocated = vm.aligned = v;
  Append append{km, nk, vm, nv};
  append.pastK.sizes[2] = append.pastV.sizes[2] = past;
  kernel(km, vm, append);
}

int main(int argc, char **argv) {
  const int64_t batch = argc > 1 ? atoll(argv[1]) : 8;
  const int64_t past = argc > 2 ? atoll(argv[2]) : 160;
  const int32_t threads = argc > 3 ? atoi(argv[3]) : 2;
  const int64_t queries = argc > 4 ? atoll(argv[4]) : 1;
  const bool bf16 = argc > 5 && strcmp(argv[5], "bf16") == 0;
  const bool f8 = argc > 5 && strcmp(argv[5], "f8") == 0;
  const int64_t padded = argc > 6 ? atoll(argv[6]) : 0;
  const int64_t layers = 12, heads = 12, d = 64, maxLen = 1024;
  const int64_t keys = past + queries;
  if (batch < 1 || past < 0 || queries < 1 || keys > maxLen || threads < 1 ||
      (argc > 5 && !bf16 && !f8 && strcmp(argv[5], "f32") != 0) || padded < 0 ||
      padded > past) {
    fprintf(stderr, "usage: kiln_attention_bench [batch [past [threads "
                    "[queries [f32|bf16|f8 [padded]]]]]], past + queries <= "
                    "1024, padded <= past\n");
    return 2;
  }
  const int64_t cacheFloats = batch * heads * maxLen * d;
  std::vector<std::vector<float>> kCache(layers), vCache(layers);
  std::vector<std::vector<uint16_t>> kCache16(layers), vCache16(layers);
  std::vector<std::vector<uint8_t>> kCache8(layers), vCache8(layers);
  for (int64_t l = 0; l < layers; ++l) {
    if (f8) {
      kCache8[l].assign(cacheFloats, 0x05); // 5 * 2^-9 = 0.009765625
      vCache8[l].assign(cacheFloats, 0x0a); // 1.25 * 2^-6 = 0.01953125
      continue;
    }
    if (bf16) {
      kCache16[l].assign(cacheFloats, 0x3c24); // 0.010009765625
      vCache16[l].assign(cacheFloats, 0x3ca4); // 0.02001953125
      continue;
    }
    kCache[l].assign(cacheFloats, 0.01f);
    vCache[l].assign(cacheFloats, 0.02f);
  }
  std::vector<float> q(batch * heads * queries * d, 0.1f),
      out(batch * heads * queries * d);
  std::vector<float> newK(batch * heads * queries * d, 0.01f),
      newV(batch * heads * queries * d, 0.02f);
  std::vector<float> mask(batch * keys, 0.0f);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < padded; ++j)
      mask[b * keys + j] = -3.4028234663852886e38f;
  kiln::test::PoolContext context(threads);

  auto step = [&] {
    const int64_t cs[4] = {heads * maxLen * d, maxLen * d, d, 1};
    const int64_t rs[4] = {heads * queries * d, queries * d, d, 1};
    for (int64_t l = 0; l < layers; ++l) {
      kiln_memref4_f32 qm{q.data(),
                          q.data(),
                          0,
                          {batch, heads, queries, d},
                          {rs[0], rs[1], rs[2], 1}};
      kiln_memref4_f32 nk{newK.data(),
                          newK.data(),
                          0,
                          {batch, heads, queries, d},
                          {rs[0], rs[1], rs[2], 1}};
      kiln_memref4_f32 nv = nk;
      nv.allocated = nv.aligned = newV.data();
      kiln_memref4_f32 mm{
          mask.data(), mask.data(), 0, {batch, 1, 1, keys}, {keys, 0, 0, 1}};
      kiln_memref4_f32 om{out.data(),
                          out.data(),
                          0,
                          {batch, heads, queries, d},
                          {rs[0], rs[1], rs[2], 1}};
      const int64_t cacheSizes[4] = {batch, heads, keys, d};
      if (f8)
        appendLayer<KvAppendF8, kiln_memref4_f8>(
            kCache8[l].data(), vCache8[l].data(), cacheSizes, cs, past, nk, nv,
            [&](auto &km, auto &vm, auto &append) {
              attentionAppendF8(qm, km, vm, &mm, om, 0.125f, true,
                                bestMatmulIsa(), append);
            });
      else if (bf16)
        appendLayer<KvAppendBf16, kiln_memref4_bf16>(
            kCache16[l].data(), vCache16[l].data(), cacheSizes, cs, past, nk,
            nv, [&](auto &km, auto &vm, auto &append) {
              attentionAppendBf16(qm, km, vm, &mm, om, 0.125f, true,
                                  bestMatmulIsa(), append);
            });
      else
        appendLayer<KvAppend, kiln_memref4_f32>(
            kCache[l].data(), vCache[l].data(), cacheSizes, cs, past, nk, nv,
            [&](auto &km, auto &vm, auto &append) {
              attentionF32(qm, km, vm, &mm, om, 0.125f, true, bestMatmulIsa(),
                           &append);
            });
    }
  };
  step();
  // Every value is 0.02, or its bf16 or f8 rounding.
  const float want = bf16 ? 0.02001953125f : f8 ? 0.01953125f : 0.02f;
  if (!context.error.empty() || std::fabs(out[0] - want) > 1e-6f) {
    fprintf(stderr, "attention failed: %s (out[0] = %g, want %g)\n",
            context.error.c_str(), out[0], want);
    return 1;
  }
  kiln::test::Timing t = kiln::test::timeCalls(step, 30);
  double median = t.medianSeconds;
  double bytes = 2.0 * layers * batch * heads * keys * d *
                 (bf16 ? sizeof(uint16_t)
                  : f8 ? 1
                       : sizeof(float));
  // Causal: query i sees past + i + 1 keys.
  double pairs = queries * past + queries * (queries + 1) / 2.0;
  double flops = 4.0 * layers * batch * heads * d * pairs;
  printf("attention %s cache, batch %lld queries %lld keys %lld threads %d: "
         "%.3f ms median (best %.3f), %.1f GB/s of keys and values, %.1f "
         "GFLOP/s\n",
         bf16 ? "bf16"
         : f8 ? "f8"
              : "f32",
         (long long)batch, (long long)queries, (long long)keys, threads,
         median * 1e3, t.bestSeconds * 1e3, bytes / median * 1e-9,
         flops / median * 1e-9);
  return 0;
}
