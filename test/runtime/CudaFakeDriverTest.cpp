//===- CudaFakeDriverTest.cpp - runtime/cuda against a host-memory driver -===//
//
// ctest runs this with LD_LIBRARY_PATH at fakecuda/, where libcuda.so.1 and
// libcublasLt.so.13 are host-memory stand-ins (test/runtime/fakecuda). A
// hand-written "generated code" run function calls what kilnc's CUDA host
// code calls (arena allocations, device constants, memset, kernel launches,
// cuBLASLt matmuls on row-major memrefs, some through transposed views and
// strided batches, attention on a KV-cache view), so the session plumbing,
// the row-major to column-major GEMM mapping and the attention wrapper's
// parameters are checked against reference results. No GPU and no real
// driver take part: kernels are host functions, and the runtime's attention
// kernels run their device source on the block emulator (cudaemu/).
//
//===----------------------------------------------------------------------===//
#include "AttentionReference.h"
#include "kiln/cuda.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <dlfcn.h>
#include <memory>
#include <vector>

extern "C" {
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gx, intptr_t gy, intptr_t gz,
                      intptr_t bx, intptr_t by, intptr_t bz, int32_t smem,
                      void *stream, void **params, void **extra, size_t count);
void *mgpuStreamCreate();
void mgpuMemset32(void *dst, unsigned value, size_t count, void *stream);
}

namespace {

template <int Rank> struct Memref {
  float *allocated, *aligned;
  int64_t offset, sizes[Rank], strides[Rank];
};

extern "C" void _mlir_ciface_kiln_cuda_matmul_f32(Memref<2> *, Memref<2> *,
                                                  Memref<2> *, int32_t,
                                                  int32_t);
extern "C" void _mlir_ciface_kiln_cuda_batch_matmul_f32(Memref<3> *,
                                                        Memref<3> *,
                                                        Memref<3> *, int32_t,
                                                        int32_t);
constexpr int32_t kOverwrite = 0, kAccumulate = 1;
constexpr unsigned kNaN = 0x7fc00000u;

// w is [4, 3] row-major; wT holds the same matrix transposed ([3, 4]).
const float kW[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
const float kWT[12] = {1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12};
const char kImage[] = "not a real fatbinary";

// y = x·w + x·(wT viewed transposed) + 1 = 2·x·w + 1, accumulated into a
// buffer that an empty (K = 0) overwriting matmul cleared of NaNs, and
// z[b] = x2[b]·w with the weight shared across the batch (batch stride 0),
// overwriting NaNs.
int32_t fakeRun(void *const *in, void *const *out, const int64_t *s) {
  int64_t n = s[0];
  float *x = static_cast<float *>(in[0]);
  float *x2 = static_cast<float *>(in[1]);
  float *y = static_cast<float *>(out[0]);
  float *z = static_cast<float *>(out[1]);
  auto *w = static_cast<float *>(kiln_cuda_device_constant(kW, sizeof(kW)));
  auto *wT = static_cast<float *>(kiln_cuda_device_constant(kWT, sizeof(kWT)));
  auto *tmp = static_cast<float *>(kiln_cuda_alloc(n * 3 * sizeof(float)));
  if (!w || !wT || !tmp)
    return 1;
  mgpuMemset32(tmp, kNaN, n * 3, mgpuStreamCreate());
  Memref<2> a = {x, x, 0, {n, 4}, {4, 1}};
  Memref<2> b = {w, w, 0, {4, 3}, {3, 1}};
  Memref<2> bt = {wT, wT, 0, {4, 3}, {1, 4}};
  Memref<2> c = {tmp, tmp, 0, {n, 3}, {3, 1}};
  Memref<2> a0 = {x, x, 0, {n, 0}, {4, 1}};
  Memref<2> b0 = {w, w, 0, {0, 3}, {3, 1}};
  _mlir_ciface_kiln_cuda_matmul_f32(&a0, &b0, &c, KILN_CUDA_PRECISION_FP32,
                                    kOverwrite);
  _mlir_ciface_kiln_cuda_matmul_f32(&a, &b, &c, KILN_CUDA_PRECISION_FP32,
                                    kAccumulate);
  _mlir_ciface_kiln_cuda_matmul_f32(&a, &bt, &c, KILN_CUDA_PRECISION_FP32,
                                    kAccumulate);

  void *addOne = mgpuModuleGetFunction(const_cast<char *>(kImage), "add_one");
  int64_t count = n * 3;
  void *params[] = {&y, &tmp, &count};
  mgpuLaunchKernel(addOne, (count + 3) / 4, 1, 1, 4, 1, 1, 0,
                   mgpuStreamCreate(), params, nullptr, 3);

  mgpuMemset32(z, kNaN, 2 * n * 3, mgpuStreamCreate());
  Memref<3> a3 = {x2, x2, 0, {2, n, 4}, {n * 4, 4, 1}};
  Memref<3> b3 = {w, w, 0, {2, 4, 3}, {0, 3, 1}};
  Memref<3> c3 = {z, z, 0, {2, n, 3}, {n * 3, 3, 1}};
  _mlir_ciface_kiln_cuda_batch_matmul_f32(&a3, &b3, &c3,
                                          KILN_CUDA_PRECISION_FP16, kOverwrite);
  return 0;
}

const char *const kSymbols[] = {"n"};
const int64_t kSymbolMax[] = {INT64_MAX};
const int64_t kXDims[] = {-1, 4}, kX2Dims[] = {2, -1, 4};
const int32_t kXSyms[] = {0, -1}, kX2Syms[] = {-1, 0, -1};
const char *const kXNames[] = {"n", "4"}, *const kX2Names[] = {"2", "n", "4"};
const int64_t kYDims[] = {-1, 3}, kZDims[] = {2, -1, 3};
const int32_t kNone[] = {-1, -1, -1};
const char *const kYNames[] = {"n", "3"}, *const kZNames[] = {"2", "n", "3"};
const kiln_abi_tensor kInputs[] = {
    {"x", KILN_DTYPE_F32, 2, kXDims, kXSyms, kXNames},
    {"x2", KILN_DTYPE_F32, 3, kX2Dims, kX2Syms, kX2Names}};
const kiln_abi_tensor kOutputs[] = {
    {"y", KILN_DTYPE_F32, 2, kYDims, kNone, kYNames},
    {"z", KILN_DTYPE_F32, 3, kZDims, kNone, kZNames}};
int32_t outputDims(const int64_t *s, int64_t *d) {
  d[0] = s[0], d[1] = 3, d[2] = 2, d[3] = s[0], d[4] = 3;
  return 0;
}
const kiln_abi_model kModel = {KILN_MODEL_ABI_VERSION,
                               "fake_cuda",
                               "cuda",
                               1,
                               kSymbols,
                               kSymbolMax,
                               2,
                               kInputs,
                               2,
                               kOutputs,
                               outputDims,
                               fakeRun,
                               &kiln_cuda_device};

// The stand-ins stay loaded for the whole test (the runtime dlcloses its
// handles with the session), so their counters can be read at any time.
void *fakeLibrary(const char *name) {
  static void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  static void *blas = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
  return name[0] == 'd' ? driver : blas;
}
int counter(const char *library, const char *name) {
  void *lib = fakeLibrary(library);
  int *value = lib ? static_cast<int *>(dlsym(lib, name)) : nullptr;
  return value ? *value : -1;
}
int driverCounter(const char *name) { return counter("driver", name); }
int blasCounter(const char *name) { return counter("blas", name); }

TEST(CudaFakeDriver, RunsGeneratedCodeEntryPoints) {
  ASSERT_EQ(driverCounter("fake_cuda_module_loads"), 0)
      << "libcuda.so.1 is not the stand-in: run through ctest, which sets "
         "LD_LIBRARY_PATH to test/runtime/fakecuda";
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  char why[512] = "";
  opts.error_message = why;
  opts.error_message_size = sizeof(why);
  kiln_session *s = nullptr;
  ASSERT_EQ(kiln_session_create(&kModel, &opts, &s), KILN_OK) << why;

  const int64_t n = 5;
  std::vector<float> x(n * 4), x2(2 * n * 4), y(n * 3), z(2 * n * 3);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(i % 7) - 3.0f;
  for (size_t i = 0; i < x2.size(); ++i)
    x2[i] = float(i % 5) * 0.5f;
  const int64_t xDims[] = {n, 4}, x2Dims[] = {2, n, 4}, yDims[] = {n, 3},
                zDims[] = {2, n, 3};
  kiln_tensor in[] = {
      {KILN_DTYPE_F32, 2, xDims, x.data(), x.size() * sizeof(float)},
      {KILN_DTYPE_F32, 3, x2Dims, x2.data(), x2.size() * sizeof(float)}};
  kiln_tensor out[] = {
      {KILN_DTYPE_F32, 2, yDims, y.data(), y.size() * sizeof(float)},
      {KILN_DTYPE_F32, 3, zDims, z.data(), z.size() * sizeof(float)}};

  for (int round = 0; round < 2; ++round) {
    int allocsBefore = driverCounter("fake_cuda_allocs");
    ASSERT_EQ(kiln_session_run(s, in, 2, out, 2), KILN_OK)
        << kiln_session_last_error(s);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < 3; ++j) {
        float dot = 0;
        for (int64_t k = 0; k < 4; ++k)
          dot += x[i * 4 + k] * kW[k * 3 + j];
        EXPECT_EQ(y[i * 3 + j], 2 * dot + 1) << "y[" << i << "][" << j << "]";
      }
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          float dot = 0;
          for (int64_t k = 0; k < 4; ++k)
            dot += x2[(b * n + i) * 4 + k] * kW[k * 3 + j];
          EXPECT_EQ(z[(b * n + i) * 3 + j], dot)
              << "z[" << b << "][" << i << "][" << j << "]";
        }
    if (round == 1)
      // Steady state: the arena was merged to its high-water size.
      EXPECT_EQ(driverCounter("fake_cuda_allocs"), allocsBefore);
  }
  // One module load, constants uploaded once: 2 constant copies plus 2
  // inputs per run.
  EXPECT_EQ(driverCounter("fake_cuda_module_loads"), 1);
  EXPECT_EQ(driverCounter("fake_cuda_htod_copies"), 2 + 2 * 2);
  EXPECT_EQ(driverCounter("fake_cuda_launches"), 2);
  EXPECT_EQ(blasCounter("fake_cublaslt_matmuls"), 6);
  // Three GEMM shapes: each plan is made once and reused by the second run.
  EXPECT_EQ(blasCounter("fake_cublaslt_heuristics"), 3);
  EXPECT_EQ(blasCounter("fake_cublaslt_live_descriptors"), 3 * 4);
  EXPECT_EQ(blasCounter("fake_cublaslt_last_compute"), 74); // FAST_16F

  // kiln_session_run_device: the stand-in's device memory is host memory,
  // so host buffers serve as "device pointers"; nothing is copied.
  std::vector<float> y2(y.size(), -1.0f), z2(z.size(), -1.0f);
  kiln_tensor out2[] = {
      {KILN_DTYPE_F32, 2, yDims, y2.data(), y2.size() * sizeof(float)},
      {KILN_DTYPE_F32, 3, zDims, z2.data(), z2.size() * sizeof(float)}};
  ASSERT_EQ(kiln_session_run_device(s, in, 2, out2, 2), KILN_OK)
      << kiln_session_last_error(s);
  EXPECT_EQ(y2, y);
  EXPECT_EQ(z2, z);
  EXPECT_EQ(driverCounter("fake_cuda_htod_copies"), 2 + 2 * 2);

  kiln_session_destroy(s);
  EXPECT_EQ(driverCounter("fake_cuda_live_allocs"), 0);
  EXPECT_EQ(blasCounter("fake_cublaslt_live_descriptors"), 0);
}

TEST(CudaFakeDriver, KernelFailureFailsTheRun) {
  kiln_abi_model model = kModel;
  model.run = [](void *const *, void *const *, const int64_t *) -> int32_t {
    // A kernel the image does not have.
    mgpuModuleGetFunction(const_cast<char *>(kImage), "missing_kernel");
    return 0;
  };
  kiln_session *s = nullptr;
  ASSERT_EQ(kiln_session_create(&model, nullptr, &s), KILN_OK);
  float x[4] = {}, x2[8] = {}, y[3], z[6];
  const int64_t xDims[] = {1, 4}, x2Dims[] = {2, 1, 4}, yDims[] = {1, 3},
                zDims[] = {2, 1, 3};
  kiln_tensor in[] = {{KILN_DTYPE_F32, 2, xDims, x, sizeof(x)},
                      {KILN_DTYPE_F32, 3, x2Dims, x2, sizeof(x2)}};
  kiln_tensor out[] = {{KILN_DTYPE_F32, 2, yDims, y, sizeof(y)},
                       {KILN_DTYPE_F32, 3, zDims, z, sizeof(z)}};
  EXPECT_EQ(kiln_session_run(s, in, 2, out, 2), KILN_ERROR_DEVICE);
  EXPECT_STREQ(kiln_session_last_error(s),
               "model 'fake_cuda' on cuda: kernel 'missing_kernel' not found: "
               "CUDA_ERROR_FAKE");
  kiln_session_destroy(s);
}

//===----------------------------------------------------------------------===//
// Attention through the runtime's wrapper and its own kernel image
//===----------------------------------------------------------------------===//

extern "C" void _mlir_ciface_kiln_cuda_attention_f32(kiln_memref4_f32 *,
                                                     kiln_memref4_f32 *,
                                                     kiln_memref4_f32 *,
                                                     kiln_memref4_f32 *, float,
                                                     int32_t);
extern "C" void _mlir_ciface_kiln_cuda_attention_masked_f32(
    kiln_memref4_f32 *, kiln_memref4_f32 *, kiln_memref4_f32 *,
    kiln_memref4_f32 *, kiln_memref4_f32 *, float, int32_t);

using kiln::test::Tensor4;

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
