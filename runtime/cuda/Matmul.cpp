//===- Matmul.cpp - GEMMs of generated code on cuBLASLt -------------------===//
//
// kiln-cuda-matmul-to-cublaslt turns `linalg.matmul` and
// `linalg.batch_matmul` on device memrefs into calls of these: C = A * B
// (beta = 0) when the compiler removed C's zeroing, C += A * B otherwise,
// and kiln.linear's matmul plus bias/activation generic into one call with
// a cuBLASLt epilogue. A and B are f32, or f16/bf16 (the inputs of a
// mixed-precision GEMM, accumulated in f32); C, D and the bias are f32.
//
// Kiln's tensors are row-major and cuBLASLt's are column-major: a row-major
// C = A * B is the column-major C^T = B^T * A^T, and a row-major [r, c]
// matrix with unit inner stride is the column-major [c, r] one with the same
// leading dimension, so no data moves. Views with unit outer stride instead
// (transposed weights) become cuBLASLt's op T. The bias belongs to the
// columns of row-major C, which are the rows of column-major C^T: the
// length cuBLASLt wants ("bias vector length must match matrix D rows").
//
//===----------------------------------------------------------------------===//
#include "CudaSession.h"
#include "kiln/cuda.h"

using namespace kiln::cuda;

namespace {

/// MLIR's memref descriptor; 16-bit floats travel as their bits.
template <typename T, int Rank> struct Memref {
  T *allocated, *aligned;
  int64_t offset, sizes[Rank], strides[Rank];
};

/// A row-major matrix view: the data at its offset, sizes and strides.
struct Matrix {
  const void *data;
  const int64_t *sizes, *strides;
  int64_t batchStride;
};

template <typename T, int Rank>
Matrix matrixOf(const Memref<T, Rank> *m, bool batched) {
  int first = batched ? 1 : 0;
  return {m->aligned + m->offset, m->sizes + first, m->strides + first,
          batched ? m->strides[0] : 0};
}

/// The column-major operand equal to the transpose of row-major matrix
/// [rows, cols] with strides (s0, s1); false if neither stride is 1.
bool transposedOperand(const void *data, int64_t rows, int64_t cols, int64_t s0,
                       int64_t s1, GemmOperand &out) {
  bool innerUnit = s1 == 1 || cols == 1;
  bool outerUnit = s0 == 1 || rows == 1;
  if (innerUnit) {
    int64_t ld = s0 > cols ? s0 : cols;
    out = {data, cols, rows, ld > 0 ? ld : 1, false, 0};
    return true;
  }
  if (outerUnit) {
    int64_t ld = s1 > rows ? s1 : rows;
    out = {data, rows, cols, ld > 0 ? ld : 1, true, 0};
    return true;
  }
  return false;
}

/// The cuBLASLt epilogue of KILN_CUDA_EPILOGUE_* flags; false for a
/// combination it has no epilogue for.
bool cublasEpilogueOf(int32_t flags, cublasLtEpilogue_t &out) {
  switch (flags) {
  case 0:
    out = CUBLASLT_EPILOGUE_DEFAULT;
    return true;
  case KILN_CUDA_EPILOGUE_BIAS:
    out = CUBLASLT_EPILOGUE_BIAS;
    return true;
  case KILN_CUDA_EPILOGUE_RELU:
    out = CUBLASLT_EPILOGUE_RELU;
    return true;
  case KILN_CUDA_EPILOGUE_RELU | KILN_CUDA_EPILOGUE_BIAS:
    out = CUBLASLT_EPILOGUE_RELU_BIAS;
    return true;
  case KILN_CUDA_EPILOGUE_GELU_TANH:
    out = CUBLASLT_EPILOGUE_GELU;
    return true;
  case KILN_CUDA_EPILOGUE_GELU_TANH | KILN_CUDA_EPILOGUE_BIAS:
    out = CUBLASLT_EPILOGUE_GELU_BIAS;
    return true;
  default:
    return false;
  }
}

const char *typeName(cudaDataType_t type) {
  return type == CUDA_R_16F ? "f16" : type == CUDA_R_16BF ? "bf16" : "f32";
}

/// C = epilogue(A * B + bias) (accumulate: C += A * B), `batch` times.
/// `bias` (m floats) is read only with KILN_CUDA_EPILOGUE_BIAS.
void matmul(cudaDataType_t abType, int64_t batch, const Matrix &a,
            const Matrix &b, float *c, const int64_t *cSizes,
            const int64_t *cStrides, int64_t cBatchStride, const float *bias,
            int64_t biasSize, int64_t biasStride, int32_t epilogue,
            int32_t precision, int32_t accumulate) {
  State *s = currentState();
  if (!s || s->failed)
    return;
  int64_t m = cSizes[0], n = cSizes[1], k = a.sizes[1];
  cublasLtEpilogue_t cublasEpilogue;
  if (!cublasEpilogueOf(epilogue, cublasEpilogue)) {
    fail(s, "matmul epilogue %d is not one cuBLASLt has", (int)epilogue);
    return;
  }
  if (batch == 0 || m == 0 || n == 0)
    return;
  if (k == 0 && epilogue) {
    fail(s,
         "matmul [%ld x 0] x [0 x %ld] with an epilogue: the epilogue "
         "needs a non-empty contraction",
         (long)m, (long)n);
    return;
  }
  if (k == 0) {
    // An empty sum: C += 0 leaves C, C = 0 clears it.
    for (int64_t p = 0; p < batch && !accumulate; ++p)
      if (CUresult r = s->driver.cuMemsetD2D32Async(
              reinterpret_cast<CUdeviceptr>(c + p * cBatchStride),
              size_t(cStrides[0] > n ? cStrides[0] : n) * sizeof(float), 0,
              size_t(n), size_t(m), s->stream)) {
        fail(s, "clearing an empty matmul's output failed: %s",
             errorString(s->driver, r));
        return;
      }
    return;
  }
  if (a.sizes[0] != m || b.sizes[0] != k || b.sizes[1] != n) {
    fail(s, "matmul shapes disagree: [%ld, %ld] x [%ld, %ld] -> [%ld, %ld]",
         (long)a.sizes[0], (long)a.sizes[1], (long)b.sizes[0], (long)b.sizes[1],
         (long)m, (long)n);
    return;
  }
  if (cStrides[1] != 1 && n != 1) {
    fail(s, "matmul output has inner stride %ld; cuBLASLt needs 1",
         (long)cStrides[1]);
    return;
  }
  if ((epilogue & KILN_CUDA_EPILOGUE_BIAS) &&
      (biasSize != n || (biasStride != 1 && n != 1))) {
    fail(s,
         "matmul [%ld x %ld] x [%ld x %ld]: the bias must be %ld contiguous "
         "floats, got %ld with stride %ld",
         (long)m, (long)k, (long)k, (long)n, (long)n, (long)biasSize,
         (long)biasStride);
    return;
  }
  GemmCall call;
  if (!transposedOperand(b.data, k, n, b.strides[0], b.strides[1], call.a) ||
      !transposedOperand(a.data, m, k, a.strides[0], a.strides[1], call.b)) {
    fail(s, "matmul operand with no unit stride");
    return;
  }
  call.a.batchStride = b.batchStride;
  call.b.batchStride = a.batchStride;
  call.compute =
      abType == CUDA_R_32F ? computeTypeFor(precision) : CUBLAS_COMPUTE_32F;
  call.abType = abType;
  call.batch = batch;
  call.d = c;
  call.m = n;
  call.n = m;
  call.ldd = cStrides[0] > n ? cStrides[0] : n;
  call.dBatchStride = cBatchStride;
  call.beta = accumulate ? 1.0f : 0.0f;
  call.epilogue = cublasEpilogue;
  call.bias = (epilogue & KILN_CUDA_EPILOGUE_BIAS) ? bias : nullptr;
  if (const char *error =
          gemm(s->blas, s->blasHandle, s->gemms,
               reinterpret_cast<cudaStream_t>(s->stream),
               reinterpret_cast<void *>(s->workspace), s->workspaceBytes, call))
    fail(s,
         "cuBLASLt matmul [%ld x %ld] x [%ld x %ld] (%s, batch %ld, "
         "epilogue %d) failed: %s",
         (long)m, (long)k, (long)k, (long)n, typeName(abType), (long)batch,
         (int)epilogue, error);
}

template <typename T>
void matmul2d(cudaDataType_t abType, Memref<T, 2> *a, Memref<T, 2> *b,
              Memref<float, 2> *c, int32_t precision, int32_t accumulate) {
  matmul(abType, 1, matrixOf(a, false), matrixOf(b, false),
         c->aligned + c->offset, c->sizes, c->strides, 0, nullptr, 0, 0, 0,
         precision, accumulate);
}

template <typename T>
void batchMatmul(cudaDataType_t abType, Memref<T, 3> *a, Memref<T, 3> *b,
                 Memref<float, 3> *c, int32_t precision, int32_t accumulate) {
  matmul(abType, c->sizes[0], matrixOf(a, true), matrixOf(b, true),
         c->aligned + c->offset, c->sizes + 1, c->strides + 1, c->strides[0],
         nullptr, 0, 0, 0, precision, accumulate);
}

template <typename T>
void linear(cudaDataType_t abType, Memref<T, 2> *a, Memref<T, 2> *b,
            Memref<float, 1> *bias, Memref<float, 2> *d, int32_t epilogue,
            int32_t precision) {
  matmul(abType, 1, matrixOf(a, false), matrixOf(b, false),
         d->aligned + d->offset, d->sizes, d->strides, 0,
         bias->aligned + bias->offset, bias->sizes[0], bias->strides[0],
         epilogue, precision, /*accumulate=*/0);
}

} // namespace

// One set of entry points per operand type, since the memref descriptors of
// generated code differ in element type (16-bit floats travel as their
// bits): kiln_cuda_matmul_{f32,f16,bf16}, kiln_cuda_batch_matmul_* and
// kiln_cuda_linear_*, each through MLIR's C interface (_mlir_ciface_).
// C, D and the bias are f32 in all; 16-bit operands ignore `precision`.
#define KILN_CUDA_GEMM_ENTRY_POINTS(suffix, T, abType)                         \
  void _mlir_ciface_kiln_cuda_matmul_##suffix(                                 \
      Memref<T, 2> *a, Memref<T, 2> *b, Memref<float, 2> *c,                   \
      int32_t precision, int32_t accumulate) {                                 \
    matmul2d(abType, a, b, c, precision, accumulate);                          \
  }                                                                            \
  void _mlir_ciface_kiln_cuda_batch_matmul_##suffix(                           \
      Memref<T, 3> *a, Memref<T, 3> *b, Memref<float, 3> *c,                   \
      int32_t precision, int32_t accumulate) {                                 \
    batchMatmul(abType, a, b, c, precision, accumulate);                       \
  }                                                                            \
  void _mlir_ciface_kiln_cuda_linear_##suffix(                                 \
      Memref<T, 2> *a, Memref<T, 2> *b, Memref<float, 1> *bias,                \
      Memref<float, 2> *d, int32_t epilogue, int32_t precision) {              \
    linear(abType, a, b, bias, d, epilogue, precision);                        \
  }

extern "C" {
KILN_CUDA_GEMM_ENTRY_POINTS(f32, float, CUDA_R_32F)
KILN_CUDA_GEMM_ENTRY_POINTS(f16, uint16_t, CUDA_R_16F)
KILN_CUDA_GEMM_ENTRY_POINTS(bf16, uint16_t, CUDA_R_16BF)
} // extern "C"
