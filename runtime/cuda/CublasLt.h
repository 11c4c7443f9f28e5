//===- CublasLt.h - cuBLASLt, loaded with dlopen ----------------*- C++ -*-===//
//
// GEMMs of CUDA artifacts run in cuBLASLt. Like the driver it is dlopen'ed
// at session creation (libcublasLt.so.13 from the library path, else from
// /usr/local/cuda/lib64), so artifacts carry no link-time dependency on it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_CUBLASLT_H
#define KILN_RUNTIME_CUDA_CUBLASLT_H

#include <cublasLt.h>
#include <stddef.h>
#include <stdint.h>

namespace kiln::cuda {

struct CublasLt {
  void *library;
  cublasStatus_t (*create)(cublasLtHandle_t *);
  cublasStatus_t (*destroy)(cublasLtHandle_t);
  const char *(*statusString)(cublasStatus_t);
  cublasStatus_t (*descCreate)(cublasLtMatmulDesc_t *, cublasComputeType_t,
                               cudaDataType_t);
  cublasStatus_t (*descDestroy)(cublasLtMatmulDesc_t);
  cublasStatus_t (*descSetAttribute)(cublasLtMatmulDesc_t,
                                     cublasLtMatmulDescAttributes_t,
                                     const void *, size_t);
  cublasStatus_t (*layoutCreate)(cublasLtMatrixLayout_t *, cudaDataType_t,
                                 uint64_t, uint64_t, int64_t);
  cublasStatus_t (*layoutDestroy)(cublasLtMatrixLayout_t);
  cublasStatus_t (*layoutSetAttribute)(cublasLtMatrixLayout_t,
                                       cublasLtMatrixLayoutAttribute_t,
                                       const void *, size_t);
  cublasStatus_t (*preferenceCreate)(cublasLtMatmulPreference_t *);
  cublasStatus_t (*preferenceDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*preferenceSetAttribute)(cublasLtMatmulPreference_t,
                                           cublasLtMatmulPreferenceAttributes_t,
                                           const void *, size_t);
  cublasStatus_t (*algoGetHeuristic)(cublasLtHandle_t, cublasLtMatmulDesc_t,
                                     cublasLtMatrixLayout_t,
                                     cublasLtMatrixLayout_t,
                                     cublasLtMatrixLayout_t,
                                     cublasLtMatrixLayout_t,
                                     cublasLtMatmulPreference_t, int,
                                     cublasLtMatmulHeuristicResult_t *, int *);
  cublasStatus_t (*matmul)(cublasLtHandle_t, cublasLtMatmulDesc_t, const void *,
                           const void *, cublasLtMatrixLayout_t, const void *,
                           cublasLtMatrixLayout_t, const void *, const void *,
                           cublasLtMatrixLayout_t, void *,
                           cublasLtMatrixLayout_t, const cublasLtMatmulAlgo_t *,
                           void *, size_t, cudaStream_t);
};

bool loadCublasLt(CublasLt &lt, char *message, size_t messageSize);
void unloadCublasLt(CublasLt &lt);

/// One column-major operand: rows x cols with leading dimension `ld`,
/// transposed when `transpose`, `batch` matrices `batchStride` elements
/// apart.
struct GemmOperand {
  const void *data;
  int64_t rows, cols, ld;
  bool transpose;
  int64_t batchStride;
};

/// One cuBLASLt matmul, column-major, `batch` times:
/// d = epilogue(a * b + beta * d + bias). a and b have element type
/// `abType` (CUDA_R_32F, CUDA_R_16F or CUDA_R_16BF); d and bias are f32.
struct GemmCall {
  cublasComputeType_t compute;
  cudaDataType_t abType;
  int64_t batch;
  GemmOperand a, b;
  float *d;
  int64_t m, n, ldd, dBatchStride;
  float beta;
  /// CUBLASLT_EPILOGUE_DEFAULT, _BIAS, _RELU(_BIAS) or _GELU(_BIAS).
  cublasLtEpilogue_t epilogue;
  /// m floats (one per row of d) when the epilogue adds a bias.
  const float *bias;
};

/// A GEMM's cuBLASLt descriptors and chosen algorithm, kept per shape,
/// types, epilogue and operand alignment so that repeated calls (every
/// layer, every decode step) skip the descriptor setup and the heuristic
/// query.
struct GemmPlan {
  int64_t key[22];
  cublasLtMatmulDesc_t desc;
  cublasLtMatrixLayout_t layouts[3];
  cublasLtMatmulAlgo_t algo;
};

struct GemmCache {
  static constexpr int kCapacity = 64;
  GemmPlan plans[kCapacity];
  int count, next; // next: the slot to replace when full
  int heuristicQueries;
};

/// Destroys the cached descriptors.
void clearGemmCache(const CublasLt &lt, GemmCache &cache);

/// The compute type of `precision` (KILN_CUDA_PRECISION_*) for f32
/// operands. f16 and bf16 operands always use CUBLAS_COMPUTE_32F, the one
/// compute type cuBLASLt takes them with and an f32 result.
cublasComputeType_t computeTypeFor(int32_t precision);

/// Runs `call` on `stream`, with its plan from `cache`. Returns a cuBLASLt
/// status text on failure, NULL on success.
const char *gemm(const CublasLt &lt, cublasLtHandle_t handle, GemmCache &cache,
                 cudaStream_t stream, void *workspace, size_t workspaceBytes,
                 const GemmCall &call);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_CUBLASLT_H
