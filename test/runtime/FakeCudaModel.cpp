//===- FakeCudaModel.cpp - A CUDA model for the host-memory driver --------===//
//
// The fake model's run function and tables, the stand-ins' counters and the
// host reference (FakeCudaModel.h).
//
//===----------------------------------------------------------------------===//
#include "FakeCudaModel.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

namespace kiln::test {
namespace {

constexpr unsigned kNaN = 0x7fc00000u;

// w is [4, 3] row-major; wT holds the same matrix transposed ([3, 4]).
const float kW[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
const float kWT[12] = {1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12};

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

int counter(const char *library, const char *name) {
  void *lib = fakeLibrary(library);
  int *value = lib ? static_cast<int *>(dlsym(lib, name)) : nullptr;
  return value ? *value : -1;
}

} // namespace

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

void *fakeLibrary(const char *name) {
  static void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  static void *blas = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
  return name[0] == 'd' ? driver : blas;
}
int driverCounter(const char *name) { return counter("driver", name); }
int blasCounter(const char *name) { return counter("blas", name); }

void expectReference(const Io &io) {
  int64_t n = io.n, wrong = 0, first = -1;
  auto check = [&](float got, float want, int64_t at) {
    if (got != want && wrong++ == 0)
      first = at;
  };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      float dot = 0;
      for (int64_t k = 0; k < 4; ++k)
        dot += io.x[i * 4 + k] * kW[k * 3 + j];
      check(io.y[i * 3 + j], 2 * dot + 1, i * 3 + j);
    }
  EXPECT_EQ(wrong, 0) << "y differs from the reference, first at " << first;
  wrong = 0;
  for (int64_t r = 0; r < 2 * n; ++r)
    for (int64_t j = 0; j < 3; ++j) {
      float dot = 0;
      for (int64_t k = 0; k < 4; ++k)
        dot += io.x2[r * 4 + k] * kW[k * 3 + j];
      check(io.z[r * 3 + j], dot, r * 3 + j);
    }
  EXPECT_EQ(wrong, 0) << "z differs from the reference, first at " << first;
}

} // namespace kiln::test
