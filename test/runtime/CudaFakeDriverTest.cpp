//===- CudaFakeDriverTest.cpp - runtime/cuda against a host-memory driver -===//
//
// ctest runs this with LD_LIBRARY_PATH at fakecuda/, where libcuda.so.1 and
// libcublasLt.so.13 are host-memory stand-ins (test/runtime/fakecuda). A
// hand-written "generated code" run function (FakeCudaModel.h) calls what
// kilnc's CUDA host code calls (arena allocations, device constants, memset,
// kernel launches, cuBLASLt matmuls on row-major memrefs, some through
// transposed views and strided batches), so the session plumbing and the
// row-major to column-major GEMM mapping are checked against reference
// results. No GPU and no real driver take part: kernels are host functions.
// The executable's CUDA graph and attention tests are in CudaGraphsTest.cpp
// and CudaAttentionWrapperTest.cpp.
//
//===----------------------------------------------------------------------===//
#include "FakeCudaModel.h"
#include "kiln/cuda.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <stdlib.h>
#include <string>
#include <vector>

namespace {

using namespace kiln::test;

/// bfloat16 bits, rounded to nearest even from a float (libgcc 12 lacks the
/// compiler's own __bf16 conversion).
struct BFloat16 {
  uint16_t bits;
  BFloat16() = default;
  explicit BFloat16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    bits = uint16_t((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
  }
  explicit operator float() const {
    uint32_t u = uint32_t(bits) << 16;
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
  }
};

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
  // Plain runs only: KILN_CUDA_GRAPHS=0 is read when the session is created.
  setenv(KILN_CUDA_GRAPHS_ENV, "0", 1);
  kiln_status created = kiln_session_create(&kModel, &opts, &s);
  unsetenv(KILN_CUDA_GRAPHS_ENV);
  ASSERT_EQ(created, KILN_OK) << why;

  Io io(5, 0);
  std::vector<float> &y = io.y, &z = io.z;
  const int64_t *yDims = io.yDims, *zDims = io.zDims;
  kiln_tensor *in = io.in, *out = io.out;

  for (int round = 0; round < 2; ++round) {
    int allocsBefore = driverCounter("fake_cuda_allocs");
    ASSERT_EQ(kiln_session_run(s, in, 2, out, 2), KILN_OK)
        << kiln_session_last_error(s);
    expectReference(io);
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
  EXPECT_EQ(driverCounter("fake_cuda_captures"), 0);
  EXPECT_EQ(driverCounter("fake_cuda_graph_launches"), 0);

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

// Runs `body` as the generated code of a session's run (the stand-in's
// device memory is host memory, so host vectors serve as device buffers);
// the run's status, with the session's error in `error`.
std::function<void()> *gBody;
// The session keeps the model, so it outlives each run (`keep` carries a
// session from one run to the next).
kiln_status runInSession(std::function<void()> body, std::string *error,
                         kiln_session **keep = nullptr) {
  static const kiln_abi_model model = [] {
    kiln_abi_model m = kModel;
    m.run = [](void *const *, void *const *, const int64_t *) -> int32_t {
      (*gBody)();
      return 0;
    };
    return m;
  }();
  gBody = &body;
  fakeLibrary("blas"); // keeps its counters past the session's dlclose
  kiln_session *s = keep && *keep ? *keep : nullptr;
  // Plain runs only: `body` differs from run to run with the same symbols
  // and buffers, which a CUDA graph would replay as the first one.
  setenv(KILN_CUDA_GRAPHS_ENV, "0", 1);
  kiln_status created = s ? KILN_OK : kiln_session_create(&model, nullptr, &s);
  unsetenv(KILN_CUDA_GRAPHS_ENV);
  if (created != KILN_OK) {
    if (error)
      *error = "no session";
    return KILN_ERROR_INTERNAL;
  }
  float x[4] = {}, x2[8] = {}, y[3], z[6];
  const int64_t xDims[] = {1, 4}, x2Dims[] = {2, 1, 4}, yDims[] = {1, 3},
                zDims[] = {2, 1, 3};
  kiln_tensor in[] = {{KILN_DTYPE_F32, 2, xDims, x, sizeof(x)},
                      {KILN_DTYPE_F32, 3, x2Dims, x2, sizeof(x2)}};
  kiln_tensor out[] = {{KILN_DTYPE_F32, 2, yDims, y, sizeof(y)},
                       {KILN_DTYPE_F32, 3, zDims, z, sizeof(z)}};
  kiln_status st = kiln_session_run(s, in, 2, out, 2);
  if (error)
    *error = st == KILN_OK ? "" : kiln_session_last_error(s);
  if (keep)
    *keep = s;
  else
    kiln_session_destroy(s);
  return st;
}

TEST(CudaFakeDriver, KernelFailureFailsTheRun) {
  std::string error;
  EXPECT_EQ(runInSession(
                [] {
                  // A kernel the image does not have.
                  mgpuModuleGetFunction(const_cast<char *>(kImage),
                                        "missing_kernel");
                },
                &error),
            KILN_ERROR_DEVICE);
  EXPECT_EQ(error, "model 'fake_cuda' on cuda: kernel 'missing_kernel' not "
                   "found: CUDA_ERROR_FAKE");
}

double geluTanh(double x) {
  return 0.5 * x *
         (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

/// kiln.linear's row-major y = act(x * w + bias), x [m, k], w [k, n].
std::vector<float> linearReference(const std::vector<float> &x,
                                   const std::vector<float> &w,
                                   const float *bias, int32_t epilogue,
                                   int64_t m, int64_t k, int64_t n) {
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double v = 0;
      for (int64_t q = 0; q < k; ++q)
        v += double(x[i * k + q]) * w[q * n + j];
      if (epilogue & KILN_CUDA_EPILOGUE_BIAS)
        v += bias[j];
      if (epilogue & KILN_CUDA_EPILOGUE_RELU)
        v = v > 0 ? v : 0;
      if (epilogue & KILN_CUDA_EPILOGUE_GELU_TANH)
        v = geluTanh(v);
      y[i * n + j] = float(v);
    }
  return y;
}

// kiln_cuda_linear_f32 with each epilogue cuBLASLt gets from Kiln: the bias
// is per output column (n = 3 of a [5, 7] x [7, 3] product, so a bias along
// the wrong axis would read past it or differ), the activation follows the
// bias, and the output (NaNs before) is overwritten. The weight is also
// passed as a transposed view (op T). Each epilogue is a plan of its own
// in the descriptor cache: the same shapes with another epilogue must not
// reuse a plan, and a second run reuses all of them.
TEST(CudaFakeDriver, LinearEpilogues) {
  const int64_t m = 5, k = 7, n = 3;
  std::vector<float> x(m * k), w(k * n), wT(n * k);
  for (int64_t i = 0; i < m * k; ++i)
    x[i] = float((i * 5) % 11) * 0.25f - 1.25f;
  for (int64_t q = 0; q < k; ++q)
    for (int64_t j = 0; j < n; ++j) {
      w[q * n + j] = float((q * 3 + j * 7) % 9) * 0.125f - 0.5f;
      wT[j * k + q] = w[q * n + j];
    }
  float bias[n] = {0.75f, -2.0f, 0.25f};
  const struct {
    int32_t flags, cublas;
  } epilogues[] = {{KILN_CUDA_EPILOGUE_BIAS, 4},
                   {KILN_CUDA_EPILOGUE_BIAS | KILN_CUDA_EPILOGUE_RELU, 6},
                   {KILN_CUDA_EPILOGUE_BIAS | KILN_CUDA_EPILOGUE_GELU_TANH, 36},
                   {KILN_CUDA_EPILOGUE_RELU, 2},
                   {KILN_CUDA_EPILOGUE_GELU_TANH, 32}};
  // One output buffer: the plans' keys include the operands' alignment.
  std::vector<float> y;
  y.reserve(m * n);
  kiln_session *session = nullptr;
  int heuristicsBefore = blasCounter("fake_cublaslt_heuristics");
  for (int round = 0; round < 2; ++round)
    for (auto [flags, cublas] : epilogues)
      for (bool transposed : {false, true}) {
        SCOPED_TRACE("epilogue " + std::to_string(flags) +
                     (transposed ? ", transposed weight" : ""));
        y.assign(m * n, NAN);
        std::string error;
        ASSERT_EQ(
            runInSession(
                [&] {
                  Memref<2> a = {x.data(), x.data(), 0, {m, k}, {k, 1}};
                  Memref<2> b =
                      transposed
                          ? Memref<2>{wT.data(), wT.data(), 0, {k, n}, {1, k}}
                          : Memref<2>{w.data(), w.data(), 0, {k, n}, {n, 1}};
                  Memref<1> bv = {bias, bias, 0, {n}, {1}};
                  Memref<2> d = {y.data(), y.data(), 0, {m, n}, {n, 1}};
                  _mlir_ciface_kiln_cuda_linear_f32(&a, &b, &bv, &d, flags,
                                                    KILN_CUDA_PRECISION_FP32);
                },
                &error, &session),
            KILN_OK)
            << error;
        EXPECT_EQ(blasCounter("fake_cublaslt_last_epilogue"), cublas);
        std::vector<float> want = linearReference(x, w, bias, flags, m, k, n);
        for (int64_t i = 0; i < m * n; ++i)
          EXPECT_NEAR(y[i], want[i], 1e-5f)
              << "y[" << i / n << "][" << i % n << "]";
      }
  // Five epilogues, each with a plain and a transposed weight.
  EXPECT_EQ(blasCounter("fake_cublaslt_heuristics") - heuristicsBefore, 10);
  kiln_session_destroy(session);
}

// A bias that is not one float per output column fails the run, naming the
// shapes, instead of reading past it.
TEST(CudaFakeDriver, LinearRejectsAMisshapenBias) {
  float x[8] = {}, w[12] = {}, y[6], bias[4] = {};
  std::string error;
  EXPECT_EQ(runInSession(
                [&] {
                  Memref<2> a = {x, x, 0, {2, 4}, {4, 1}};
                  Memref<2> b = {w, w, 0, {4, 3}, {3, 1}};
                  Memref<1> bv = {bias, bias, 0, {2}, {1}};
                  Memref<2> d = {y, y, 0, {2, 3}, {3, 1}};
                  _mlir_ciface_kiln_cuda_linear_f32(&a, &b, &bv, &d,
                                                    KILN_CUDA_EPILOGUE_BIAS,
                                                    KILN_CUDA_PRECISION_FP32);
                },
                &error),
            KILN_ERROR_DEVICE);
  EXPECT_NE(error.find("matmul [2 x 4] x [4 x 3]: the bias must be 3 "
                       "contiguous floats, got 2 with stride 1"),
            std::string::npos)
      << error;
}

/// `count` values of type H, and the floats they hold exactly.
template <typename H>
void halfValues(int64_t count, int64_t seed, std::vector<H> &h,
                std::vector<float> &f) {
  h.resize(count);
  f.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    // Thirds and a tiny value: most do not fit 16 bits, and the rounding
    // is what the reference must see too.
    float v = float((i * 7 + seed) % 13 - 6) / 3.0f;
    if (i % 11 == 5)
      v = 3e-6f; // an f16 subnormal
    h[i] = H(v);
    f[i] = float(h[i]);
  }
}

/// Row-major [m, k] x [k, n] (b[q * bs0 + j * bs1]) in double.
std::vector<double> reference(const float *a, const float *b, int64_t m,
                              int64_t k, int64_t n, int64_t bs0, int64_t bs1) {
  std::vector<double> c(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t q = 0; q < k; ++q)
        c[i * n + j] += double(a[i * k + q]) * b[q * bs0 + j * bs1];
  return c;
}

void expectNear(const float *got, const std::vector<double> &want,
                const char *what) {
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i])))
        << what << "[" << i << "]";
}

// f16 or bf16 A and B with an f32 C through the runtime's GEMM entry points
// and the stand-in (which converts the 16-bit values itself): plain,
// transposed B, batched (one weight per batch entry, and one shared), an
// accumulating product and a GELU_BIAS linear, all against a reference on
// the same rounded inputs. cuBLASLt takes 16-bit inputs with an f32 output
// only with CUBLAS_COMPUTE_32F (68): the precision argument (fp16 here) must
// not turn it into 32F_FAST_16F, which the stand-in rejects as cuBLASLt
// would.
// The entry points come as lambdas that call them: a call through a pointer
// would have the test's memref type, not the runtime's, which UBSan's
// -fsanitize=function reports.
template <typename H, typename Matmul, typename BatchMatmul, typename Linear>
void checkHalfGemms(int cudaType, Matmul matmul, BatchMatmul batchMatmul,
                    Linear linear) {
  const int64_t m = 5, k = 9, n = 4;
  std::vector<H> a, b, bT, a3, b3;
  std::vector<float> af, bf, bTf, a3f, b3f;
  halfValues(m * k, 1, a, af);
  halfValues(k * n, 2, b, bf);
  bT.resize(n * k);
  bTf.resize(n * k);
  for (int64_t q = 0; q < k; ++q)
    for (int64_t j = 0; j < n; ++j) {
      bT[j * k + q] = b[q * n + j];
      bTf[j * k + q] = bf[q * n + j];
    }
  halfValues(2 * m * k, 3, a3, a3f);
  halfValues(2 * k * n, 4, b3, b3f);
  float bias[n] = {0.5f, -1.0f, 0.25f, 2.0f};
  std::vector<float> c(m * n, NAN), ct(m * n, NAN), acc(m * n, 1.5f),
      lin(m * n, NAN), c3(2 * m * n, NAN), c3shared(2 * m * n, NAN);
  // The runtime takes 16-bit floats as their bits.
  auto bits = [](std::vector<H> &v) {
    return reinterpret_cast<uint16_t *>(v.data());
  };
  std::string error;
  ASSERT_EQ(
      runInSession(
          [&] {
            Memref<2, uint16_t> ma = {bits(a), bits(a), 0, {m, k}, {k, 1}};
            Memref<2, uint16_t> mb = {bits(b), bits(b), 0, {k, n}, {n, 1}};
            Memref<2, uint16_t> mbT = {bits(bT), bits(bT), 0, {k, n}, {1, k}};
            Memref<2> mc = {c.data(), c.data(), 0, {m, n}, {n, 1}};
            Memref<2> mct = {ct.data(), ct.data(), 0, {m, n}, {n, 1}};
            Memref<2> macc = {acc.data(), acc.data(), 0, {m, n}, {n, 1}};
            Memref<2> mlin = {lin.data(), lin.data(), 0, {m, n}, {n, 1}};
            Memref<1> mbias = {bias, bias, 0, {n}, {1}};
            matmul(&ma, &mb, &mc, KILN_CUDA_PRECISION_FP16, kOverwrite);
            matmul(&ma, &mbT, &mct, KILN_CUDA_PRECISION_FP16, kOverwrite);
            matmul(&ma, &mb, &macc, KILN_CUDA_PRECISION_FP16, kAccumulate);
            linear(&ma, &mb, &mbias, &mlin,
                   KILN_CUDA_EPILOGUE_BIAS | KILN_CUDA_EPILOGUE_GELU_TANH,
                   KILN_CUDA_PRECISION_FP16);
            Memref<3, uint16_t> ma3 = {
                bits(a3), bits(a3), 0, {2, m, k}, {m * k, k, 1}};
            Memref<3, uint16_t> mb3 = {
                bits(b3), bits(b3), 0, {2, k, n}, {k * n, n, 1}};
            Memref<3, uint16_t> mbShared = {
                bits(b), bits(b), 0, {2, k, n}, {0, n, 1}};
            Memref<3> mc3 = {c3.data(), c3.data(), 0, {2, m, n}, {m * n, n, 1}};
            Memref<3> mc3s = {
                c3shared.data(), c3shared.data(), 0, {2, m, n}, {m * n, n, 1}};
            batchMatmul(&ma3, &mb3, &mc3, KILN_CUDA_PRECISION_FP16, kOverwrite);
            batchMatmul(&ma3, &mbShared, &mc3s, KILN_CUDA_PRECISION_FP16,
                        kOverwrite);
          },
          &error),
      KILN_OK)
      << error;
  EXPECT_EQ(blasCounter("fake_cublaslt_last_ab_type"), cudaType);
  EXPECT_EQ(blasCounter("fake_cublaslt_last_compute"), 68); // COMPUTE_32F

  std::vector<double> want = reference(af.data(), bf.data(), m, k, n, n, 1);
  expectNear(c.data(), want, "c");
  expectNear(ct.data(), reference(af.data(), bTf.data(), m, k, n, 1, k),
             "transposed");
  std::vector<double> wantAcc = want, wantLin = want;
  for (int64_t i = 0; i < m * n; ++i) {
    wantAcc[i] += 1.5;
    wantLin[i] = geluTanh(want[i] + bias[i % n]);
  }
  expectNear(acc.data(), wantAcc, "accumulated");
  expectNear(lin.data(), wantLin, "linear");
  for (int64_t p = 0; p < 2; ++p) {
    expectNear(c3.data() + p * m * n,
               reference(a3f.data() + p * m * k, b3f.data() + p * k * n, m, k,
                         n, n, 1),
               "batched");
    expectNear(c3shared.data() + p * m * n,
               reference(a3f.data() + p * m * k, bf.data(), m, k, n, n, 1),
               "batched, shared weight");
  }
}

TEST(CudaFakeDriver, Float16Operands) {
  checkHalfGemms<_Float16>(
      2, [](auto... a) { _mlir_ciface_kiln_cuda_matmul_f16(a...); },
      [](auto... a) { _mlir_ciface_kiln_cuda_batch_matmul_f16(a...); },
      [](auto... a) { _mlir_ciface_kiln_cuda_linear_f16(a...); });
}

TEST(CudaFakeDriver, BFloat16Operands) {
  checkHalfGemms<BFloat16>(
      14, [](auto... a) { _mlir_ciface_kiln_cuda_matmul_bf16(a...); },
      [](auto... a) { _mlir_ciface_kiln_cuda_batch_matmul_bf16(a...); },
      [](auto... a) { _mlir_ciface_kiln_cuda_linear_bf16(a...); });
}

} // namespace
