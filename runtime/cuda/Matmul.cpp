//===- Matmul.cpp - f32 (batch) matmuls of generated code on cuBLASLt -----===//
//
// kiln-cuda-matmul-to-cublaslt turns `linalg.matmul` and
// `linalg.batch_matmul` on device memrefs into calls of these: C = A * B
// (beta = 0) when the compiler removed C's zeroing, C += A * B otherwise.
// Kiln's tensors are row-major and cuBLASLt's are column-major: a row-major C =
// A * B is the column-major C^T = B^T * A^T, and a row-major [r, c] matrix with
// unit inner stride is the column-major [c, r] one with the same leading
// dimension, so no data moves. Views with unit outer stride instead
// (transposed weights) become cuBLASLt's op T.
//
//===----------------------------------------------------------------------===//
#include "CudaSession.h"
#include "kiln/cuda.h"

using namespace kiln::cuda;

namespace {

template <int Rank> struct Memref {
  float *allocated, *aligned;
  int64_t offset, sizes[Rank], strides[Rank];
};

/// The column-major operand equal to the transpose of row-major matrix
/// [rows, cols] with strides (s0, s1); false if neither stride is 1.
bool transposedOperand(const float *data, int64_t rows, int64_t cols,
                       int64_t s0, int64_t s1, GemmOperand &out) {
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

void matmul(int64_t batch, const float *a, const int64_t *aSizes,
            const int64_t *aStrides, int64_t aBatchStride, const float *b,
            const int64_t *bSizes, const int64_t *bStrides,
            int64_t bBatchStride, float *c, const int64_t *cSizes,
            const int64_t *cStrides, int64_t cBatchStride, int32_t precision,
            int32_t accumulate) {
  State *s = currentState();
  if (!s || s->failed)
    return;
  int64_t m = cSizes[0], n = cSizes[1], k = aSizes[1];
  if (batch == 0 || m == 0 || n == 0)
    return;
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
  if (aSizes[0] != m || bSizes[0] != k || bSizes[1] != n) {
    fail(s, "matmul shapes disagree: [%ld, %ld] x [%ld, %ld] -> [%ld, %ld]",
         (long)aSizes[0], (long)aSizes[1], (long)bSizes[0], (long)bSizes[1],
         (long)m, (long)n);
    return;
  }
  if (cStrides[1] != 1 && n != 1) {
    fail(s, "matmul output has inner stride %ld; cuBLASLt needs 1",
         (long)cStrides[1]);
    return;
  }
  GemmOperand x, y;
  if (!transposedOperand(b, k, n, bStrides[0], bStrides[1], x) ||
      !transposedOperand(a, m, k, aStrides[0], aStrides[1], y)) {
    fail(s, "matmul operand with no unit stride");
    return;
  }
  x.batchStride = bBatchStride;
  y.batchStride = aBatchStride;
  int64_t ldc = cStrides[0] > n ? cStrides[0] : n;
  if (const char *error =
          gemm(s->blas, s->blasHandle, s->gemms,
               reinterpret_cast<cudaStream_t>(s->stream),
               reinterpret_cast<void *>(s->workspace), s->workspaceBytes,
               computeTypeFor(precision), batch, x, y, c, n, m, ldc,
               cBatchStride, accumulate ? 1.0f : 0.0f))
    fail(s, "cuBLASLt matmul [%ld x %ld] x [%ld x %ld] (batch %ld) failed: %s",
         (long)m, (long)k, (long)k, (long)n, (long)batch, error);
}

} // namespace

extern "C" {

void _mlir_ciface_kiln_cuda_matmul_f32(Memref<2> *a, Memref<2> *b, Memref<2> *c,
                                       int32_t precision, int32_t accumulate) {
  matmul(1, a->aligned + a->offset, a->sizes, a->strides, 0,
         b->aligned + b->offset, b->sizes, b->strides, 0,
         c->aligned + c->offset, c->sizes, c->strides, 0, precision,
         accumulate);
}

void _mlir_ciface_kiln_cuda_batch_matmul_f32(Memref<3> *a, Memref<3> *b,
                                             Memref<3> *c, int32_t precision,
                                             int32_t accumulate) {
  matmul(c->sizes[0], a->aligned + a->offset, a->sizes + 1, a->strides + 1,
         a->strides[0], b->aligned + b->offset, b->sizes + 1, b->strides + 1,
         b->strides[0], c->aligned + c->offset, c->sizes + 1, c->strides + 1,
         c->strides[0], precision, accumulate);
}

} // extern "C"
