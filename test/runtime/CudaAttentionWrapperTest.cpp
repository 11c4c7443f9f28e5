//===- CudaAttentionWrapperTest.cpp - CUDA attention through the runtime --===//
//
// Attention through the runtime's wrapper and its own kernel image: a model
// whose run function calls the attention entry points on a KV-cache view, as
// generated code does, checked against a float64 reference
// (AttentionReference.h). The stand-in driver (FakeCudaModel.h) runs the
// runtime's attention kernels' device source on the block emulator
// (cudaemu/).
//
//===----------------------------------------------------------------------===//
#include "AttentionReference.h"
#include "FakeCudaModel.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <dlfcn.h>
#include <memory>
#include <random>
#include <vector>

namespace {

using namespace kiln::test;

extern "C" void _mlir_ciface_kiln_cuda_attention_f32(kiln_memref4_f32 *,
                                                     kiln_memref4_f32 *,
                                                     kiln_memref4_f32 *,
                                                     kiln_memref4_f32 *, float,
                                                     int32_t);
extern "C" void _mlir_ciface_kiln_cuda_attention_masked_f32(
    kiln_memref4_f32 *, kiln_memref4_f32 *, kiln_memref4_f32 *,
    kiln_memref4_f32 *, kiln_memref4_f32 *, float, int32_t);

// A decode step: 4 query heads over 2 key/value heads (GQA), one query, 75
// valid keys in an 80-position cache, head dim 64 (or `attentionDim`). The
// model's inputs are the operands' whole storage; its run function views
// them with the layouts below, as generated code views a cache buffer.
struct AttentionCase {
  Tensor4 *q, *k, *v, *mask;
  float scale;
};
AttentionCase attentionCase;

kiln_memref4_f32 viewOf(void *device, const Tensor4 &t) {
  kiln_memref4_f32 m = t.ref;
  m.allocated = m.aligned = static_cast<float *>(device);
  return m;
}

int32_t attentionRun(void *const *in, void *const *out, const int64_t *) {
  const AttentionCase &c = attentionCase;
  kiln_memref4_f32 q = viewOf(in[0], *c.q), k = viewOf(in[1], *c.k),
                   v = viewOf(in[2], *c.v), mask = viewOf(in[3], *c.mask);
  // Outputs: [B, H, Sq, D] dense, the second written through a view with
  // the heads and queries swapped ([B, Sq, H, D] storage).
  const int64_t *qs = c.q->ref.sizes;
  kiln_memref4_f32 o1 = {static_cast<float *>(out[0]),
                         static_cast<float *>(out[0]),
                         0,
                         {qs[0], qs[1], qs[2], qs[3]},
                         {qs[1] * qs[2] * qs[3], qs[2] * qs[3], qs[3], 1}};
  kiln_memref4_f32 o2 = o1;
  o2.allocated = o2.aligned = static_cast<float *>(out[1]);
  o2.strides[1] = qs[3], o2.strides[2] = qs[1] * qs[3];
  _mlir_ciface_kiln_cuda_attention_masked_f32(&q, &k, &v, &mask, &o1, c.scale,
                                              1);
  _mlir_ciface_kiln_cuda_attention_f32(&q, &k, &v, &o2, c.scale, 0);
  return 0;
}

struct AttentionModel {
  explicit AttentionModel(int64_t d) {
    std::mt19937 rng(11);
    q = std::make_unique<Tensor4>(Dims{1, 4, 1, d}, rng, -2, 2);
    k = std::make_unique<Tensor4>(Dims{1, 2, 75, d}, rng, -2, 2, false, 5);
    v = std::make_unique<Tensor4>(Dims{1, 2, 75, d}, rng, -1, 1, false, 5);
    mask = std::make_unique<Tensor4>(Dims{1, 1, 1, 75}, rng, -2, 0);
    for (int64_t j = 0; j < 75; j += 7)
      mask->at(0, 0, 0, j) = -INFINITY;
    attentionCase = {q.get(), k.get(), v.get(), mask.get(),
                     1.0f / std::sqrt(float(d))};
    Tensor4 *operands[] = {q.get(), k.get(), v.get(), mask.get()};
    for (int i = 0; i < 4; ++i) {
      storageDims[i] = int64_t(operands[i]->storage.size());
      inputs[i] = {kInputNames[i],  KILN_DTYPE_F32, 1,
                   &storageDims[i], kStatic,        kStorageName};
      in[i] = {KILN_DTYPE_F32, 1, &storageDims[i], operands[i]->storage.data(),
               operands[i]->storage.size() * sizeof(float)};
    }
    outDims[0] = 1, outDims[1] = 4, outDims[2] = 1, outDims[3] = d;
    for (int o = 0; o < 2; ++o) {
      results[o].assign(size_t(4 * d), -1.0f);
      outputs[o] = {kOutputNames[o], KILN_DTYPE_F32, 4,
                    outDims,         kStatic,        kOutNames};
      out[o] = {KILN_DTYPE_F32, 4, outDims, results[o].data(),
                results[o].size() * sizeof(float)};
    }
    model = kModel;
    model.name = "fake_cuda_attention";
    model.num_symbols = 0;
    model.num_inputs = 4;
    model.inputs = inputs;
    model.num_outputs = 2;
    model.outputs = outputs;
    model.output_dims = [](const int64_t *, int64_t *dims) -> int32_t {
      for (int o = 0; o < 2; ++o)
        for (int i = 0; i < 4; ++i)
          dims[4 * o + i] = attentionCase.q->ref.sizes[i];
      return 0;
    };
    model.run = attentionRun;
  }

  using Dims = int64_t[4];
  static constexpr const char *kInputNames[] = {"q", "k", "v", "mask"};
  static constexpr const char *kOutputNames[] = {"masked", "unmasked"};
  static constexpr const char *kStorageName[] = {"storage"};
  static constexpr const char *kOutNames[] = {"1", "4", "1", "d"};
  static constexpr int32_t kStatic[] = {-1, -1, -1, -1};
  std::unique_ptr<Tensor4> q, k, v, mask;
  int64_t storageDims[4], outDims[4];
  kiln_abi_tensor inputs[4], outputs[2];
  kiln_tensor in[4], out[2];
  std::vector<float> results[2];
  kiln_abi_model model;
};

TEST(CudaFakeDriver, AttentionRunsTheRuntimesKernelOnTheEmulator) {
  AttentionModel m(64);
  kiln_session *s = nullptr;
  ASSERT_EQ(kiln_session_create(&m.model, nullptr, &s), KILN_OK);
  int loads = driverCounter("fake_cuda_module_loads");
  int launches = driverCounter("fake_cuda_emulated_launches");
  for (int round = 0; round < 2; ++round) {
    ASSERT_EQ(kiln_session_run(s, m.in, 4, m.out, 2), KILN_OK)
        << kiln_session_last_error(s);
    const std::vector<double> masked = kiln::test::referenceAttention(
        *m.q, *m.k, *m.v, m.mask.get(), attentionCase.scale, true);
    const std::vector<double> unmasked = kiln::test::referenceAttention(
        *m.q, *m.k, *m.v, nullptr, attentionCase.scale, false);
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t e = 0; e < 64; ++e) {
        EXPECT_NEAR(m.results[0][size_t(h * 64 + e)],
                    masked[size_t(h * 64 + e)], 2e-5)
            << "masked, head " << h << " dim " << e;
        EXPECT_NEAR(m.results[1][size_t(h * 64 + e)],
                    unmasked[size_t(h * 64 + e)], 2e-5)
            << "unmasked, head " << h << " dim " << e;
      }
  }
  // The runtime's image is loaded once per session; each call is the
  // attention kernel (grid: 2 key splits x 2 kv heads, one warp for the
  // 4 grouped rows) and the combine kernel (256 outputs, 2 blocks of 128).
  EXPECT_EQ(driverCounter("fake_cuda_module_loads"), loads + 1);
  EXPECT_EQ(driverCounter("fake_cuda_emulated_launches"), launches + 2 * 4);
  void *driver = fakeLibrary("driver");
  auto *grid =
      static_cast<unsigned *>(dlsym(driver, "fake_cuda_last_emulated_grid"));
  ASSERT_NE(grid, nullptr);
  EXPECT_EQ(grid[0], 2u);
  EXPECT_EQ(grid[3], 128u);
  kiln_session_destroy(s);
}

TEST(CudaFakeDriver, AttentionWithoutAKernelFailsTheRun) {
  AttentionModel m(48); // no kernel for head dim 48
  kiln_session *s = nullptr;
  ASSERT_EQ(kiln_session_create(&m.model, nullptr, &s), KILN_OK);
  EXPECT_EQ(kiln_session_run(s, m.in, 4, m.out, 2), KILN_ERROR_DEVICE);
  EXPECT_STREQ(kiln_session_last_error(s),
               "model 'fake_cuda_attention' on cuda: attention_f32: q [1, 4, "
               "1, 48], k [1, 2, 75, 48], v [1, 2, 75, 48], out [1, 4, 1, 48] "
               "with a mask: head dim has no kernel (16, 32, 64, 80, 96, "
               "128)");
  kiln_session_destroy(s);
}

} // namespace
