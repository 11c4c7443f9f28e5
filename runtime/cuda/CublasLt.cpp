//===- CublasLt.cpp - cuBLASLt, loaded with dlopen ------------------------===//
#include "CublasLt.h"
#include "kiln/cuda.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

namespace kiln::cuda {

template <typename Fn>
static bool lookup(void *library, const char *name, Fn &fn, char *message,
                   size_t messageSize) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  if (!fn)
    snprintf(message, messageSize, "libcublasLt lacks %s", name);
  return fn != nullptr;
}

bool loadCublasLt(CublasLt &lt, char *message, size_t messageSize) {
  memset(&lt, 0, sizeof(lt));
  lt.library = dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
  if (!lt.library)
    lt.library = dlopen("/usr/local/cuda/lib64/libcublasLt.so.13",
                        RTLD_NOW | RTLD_LOCAL);
  if (!lt.library) {
    snprintf(message, messageSize,
             "no cuBLASLt: libcublasLt.so.13 not found on the library path "
             "or in /usr/local/cuda/lib64");
    return false;
  }
  bool ok =
      lookup(lt.library, "cublasLtCreate", lt.create, message, messageSize) &&
      lookup(lt.library, "cublasLtDestroy", lt.destroy, message, messageSize) &&
      lookup(lt.library, "cublasLtGetStatusString", lt.statusString, message,
             messageSize) &&
      lookup(lt.library, "cublasLtMatmulDescCreate", lt.descCreate, message,
             messageSize) &&
      lookup(lt.library, "cublasLtMatmulDescDestroy", lt.descDestroy, message,
             messageSize) &&
      lookup(lt.library, "cublasLtMatmulDescSetAttribute", lt.descSetAttribute,
             message, messageSize) &&
      lookup(lt.library, "cublasLtMatrixLayoutCreate", lt.layoutCreate, message,
             messageSize) &&
      lookup(lt.library, "cublasLtMatrixLayoutDestroy", lt.layoutDestroy,
             message, messageSize) &&
      lookup(lt.library, "cublasLtMatrixLayoutSetAttribute",
             lt.layoutSetAttribute, message, messageSize) &&
      lookup(lt.library, "cublasLtMatmulPreferenceCreate", lt.preferenceCreate,
             message, messageSize) &&
      lookup(lt.library, "cublasLtMatmulPreferenceDestroy",
             lt.preferenceDestroy, message, messageSize) &&
      lookup(lt.library, "cublasLtMatmulPreferenceSetAttribute",
             lt.preferenceSetAttribute, message, messageSize) &&
      lookup(lt.library, "cublasLtMatmulAlgoGetHeuristic", lt.algoGetHeuristic,
             message, messageSize) &&
      lookup(lt.library, "cublasLtMatmul", lt.matmul, message, messageSize);
  if (!ok)
    unloadCublasLt(lt);
  return ok;
}

void unloadCublasLt(CublasLt &lt) {
  if (lt.library)
    dlclose(lt.library);
  memset(&lt, 0, sizeof(lt));
}

cublasComputeType_t computeTypeFor(int32_t precision) {
  switch (precision) {
  case KILN_CUDA_PRECISION_FP16:
    return CUBLAS_COMPUTE_32F_FAST_16F;
  case KILN_CUDA_PRECISION_BF16:
    return CUBLAS_COMPUTE_32F_FAST_16BF;
  case KILN_CUDA_PRECISION_TF32:
    return CUBLAS_COMPUTE_32F_FAST_TF32;
  default:
    return CUBLAS_COMPUTE_32F;
  }
}

static void destroyPlan(const CublasLt &lt, GemmPlan &plan) {
  for (auto *&l : plan.layouts)
    if (l) {
      lt.layoutDestroy(l);
      l = nullptr;
    }
  if (plan.desc) {
    lt.descDestroy(plan.desc);
    plan.desc = nullptr;
  }
}

void clearGemmCache(const CublasLt &lt, GemmCache &cache) {
  for (int i = 0; i < cache.count; ++i)
    destroyPlan(lt, cache.plans[i]);
  cache.count = cache.next = 0;
}

/// The largest power of two up to 256 that divides `p`'s address: what
/// cuBLASLt may assume of a buffer. Its heuristic otherwise assumes 256
/// bytes, and a view into a buffer (or an f16 operand at an odd element
/// offset) may have less.
static uint32_t alignmentOf(const void *p) {
  uintptr_t address = reinterpret_cast<uintptr_t>(p);
  uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0)
    alignment /= 2;
  return alignment;
}

/// Fills `plan` (descriptors and algorithm) for `call`; the status text on
/// failure.
static const char *makePlan(const CublasLt &lt, cublasLtHandle_t handle,
                            size_t workspaceBytes, const GemmCall &call,
                            GemmPlan &plan) {
  cublasStatus_t st = lt.descCreate(&plan.desc, call.compute, CUDA_R_32F);
  if (st != CUBLAS_STATUS_SUCCESS)
    return lt.statusString(st);
  cublasOperation_t opA = call.a.transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opB = call.b.transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
  lt.descSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opA,
                      sizeof(opA));
  lt.descSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opB,
                      sizeof(opB));
  if (call.epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
    uint32_t epilogue = call.epilogue;
    lt.descSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                        sizeof(epilogue));
    // The heuristic reads the bias pointer's alignment from here; every
    // call sets its own pointer again.
    lt.descSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                        &call.bias, sizeof(call.bias));
  }
  struct Shape {
    cudaDataType_t type;
    int64_t rows, cols, ld, batchStride;
  } shapes[3] = {
      {call.abType, call.a.rows, call.a.cols, call.a.ld, call.a.batchStride},
      {call.abType, call.b.rows, call.b.cols, call.b.ld, call.b.batchStride},
      {CUDA_R_32F, call.m, call.n, call.ldd, call.dBatchStride}};
  for (int i = 0; i < 3; ++i) {
    st = lt.layoutCreate(&plan.layouts[i], shapes[i].type, shapes[i].rows,
                         shapes[i].cols, shapes[i].ld);
    if (st != CUBLAS_STATUS_SUCCESS)
      return lt.statusString(st);
    if (call.batch > 1) {
      int32_t count = (int32_t)call.batch;
      lt.layoutSetAttribute(plan.layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                            &count, sizeof(count));
      lt.layoutSetAttribute(
          plan.layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
          &shapes[i].batchStride, sizeof(shapes[i].batchStride));
    }
  }
  cublasLtMatmulPreference_t preference = nullptr;
  st = lt.preferenceCreate(&preference);
  if (st != CUBLAS_STATUS_SUCCESS)
    return lt.statusString(st);
  uint64_t maxWorkspace = workspaceBytes;
  lt.preferenceSetAttribute(preference,
                            CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                            &maxWorkspace, sizeof(maxWorkspace));
  const struct {
    cublasLtMatmulPreferenceAttributes_t attribute;
    uint32_t bytes;
  } alignments[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, alignmentOf(call.a.data)},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, alignmentOf(call.b.data)},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, alignmentOf(call.d)},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, alignmentOf(call.d)}};
  for (const auto &a : alignments)
    lt.preferenceSetAttribute(preference, a.attribute, &a.bytes,
                              sizeof(a.bytes));
  cublasLtMatmulHeuristicResult_t heuristic;
  int found = 0;
  st = lt.algoGetHeuristic(handle, plan.desc, plan.layouts[0], plan.layouts[1],
                           plan.layouts[2], plan.layouts[2], preference, 1,
                           &heuristic, &found);
  lt.preferenceDestroy(preference);
  if (st != CUBLAS_STATUS_SUCCESS)
    return lt.statusString(st);
  if (found == 0)
    return "cuBLASLt has no algorithm for this matmul";
  plan.algo = heuristic.algo;
  return nullptr;
}

const char *gemm(const CublasLt &lt, cublasLtHandle_t handle, GemmCache &cache,
                 cudaStream_t stream, void *workspace, size_t workspaceBytes,
                 const GemmCall &call) {
  const GemmOperand &a = call.a, &b = call.b;
  const int64_t key[22] = {call.compute,
                           call.abType,
                           call.batch,
                           a.rows,
                           a.cols,
                           a.ld,
                           a.transpose,
                           a.batchStride,
                           b.rows,
                           b.cols,
                           b.ld,
                           b.transpose,
                           b.batchStride,
                           call.m,
                           call.n,
                           call.ldd,
                           call.dBatchStride,
                           call.epilogue,
                           alignmentOf(a.data),
                           alignmentOf(b.data),
                           alignmentOf(call.d),
                           alignmentOf(call.bias)};
  static_assert(sizeof(key) == sizeof(GemmPlan::key));
  GemmPlan *plan = nullptr;
  for (int i = 0; i < cache.count && !plan; ++i)
    if (memcmp(cache.plans[i].key, key, sizeof(key)) == 0)
      plan = &cache.plans[i];
  if (!plan) {
    int slot = cache.count < GemmCache::kCapacity ? cache.count++ : cache.next;
    cache.next = (slot + 1) % GemmCache::kCapacity;
    plan = &cache.plans[slot];
    destroyPlan(lt, *plan);
    memset(plan->key, 0xff, sizeof(plan->key)); // matches no key until made
    ++cache.heuristicQueries;
    if (const char *error = makePlan(lt, handle, workspaceBytes, call, *plan)) {
      destroyPlan(lt, *plan);
      return error;
    }
    memcpy(plan->key, key, sizeof(key));
  } else if (call.epilogue & CUBLASLT_EPILOGUE_BIAS) {
    // cuBLASLt reads the descriptor when the matmul is enqueued, so the
    // cached one can take this call's bias.
    lt.descSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                        &call.bias, sizeof(call.bias));
  }
  float alpha = 1.0f;
  cublasStatus_t st = lt.matmul(
      handle, plan->desc, &alpha, a.data, plan->layouts[0], b.data,
      plan->layouts[1], &call.beta, call.d, plan->layouts[2], call.d,
      plan->layouts[2], &plan->algo, workspace, workspaceBytes, stream);
  return st == CUBLAS_STATUS_SUCCESS ? nullptr : lt.statusString(st);
}

} // namespace kiln::cuda
