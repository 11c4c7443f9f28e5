/*===- FakeCublasLt.c - A host reference for libcublasLt.so.13 ------------===*
 *
 * Built as fakecuda/libcublasLt.so.13 for CudaRuntimeTest. It implements
 * the documented semantics of the cuBLASLt calls runtime/cuda makes, on
 * host memory: D = epilogue(alpha * op(A) * op(B) + beta * C + bias),
 * column-major, with leading dimensions, op T and strided batches. The
 * epilogues are the documented ones: BIAS adds bias[i] to row i of D (the
 * vector's length is D's row count), then RELU is max(x, 0) and GELU the
 * tanh approximation. A and B are f32, f16 or bf16 (converted to float
 * here), C and D f32: the combinations the runtime passes, and with 16-bit
 * inputs only CUBLAS_COMPUTE_32F, as cuBLASLt's table of supported types
 * has it. That checks the runtime's row-major to column-major mapping and
 * its type codes, not cuBLASLt itself.
 *
 * Like the real library, whose kernels a stream capture records, a matmul on
 * a capturing stream is not computed: it is handed with its operands'
 * addresses and alpha/beta values (read at the call, as cuBLASLt reads
 * host-side scalars) to the fake driver's capture, and runs on each replay.
 *===----------------------------------------------------------------------===*/
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int Status;
enum { kOk = 0, kInvalid = 7 };
/* Attribute numbers from cublasLt.h. */
enum { kDescTransA = 3, kDescTransB = 4, kDescEpilogue = 7, kDescBias = 8 };
enum { kLayoutBatchCount = 5, kLayoutBatchStride = 6 };
/* cublasLtEpilogue_t: flags of the forward epilogues. */
enum {
  kEpilogueDefault = 1,
  kEpilogueRelu = 2,
  kEpilogueBias = 4,
  kEpilogueGelu = 32
};

typedef struct {
  int transA, transB, compute;
  uint32_t epilogue;
  const float *bias;
} Desc;
/* cudaDataType_t and cublasComputeType_t values. */
enum { kR32F = 0, kR16F = 2, kR16BF = 14 };
enum { kCompute32F = 68 };

typedef struct {
  int type;
  uint64_t rows, cols;
  int64_t ld;
  int32_t batch;
  int64_t stride;
} Layout;

/* fake_cublaslt_matmuls counts products computed at the call;
 * _captured_matmuls those recorded into a graph, _replayed_matmuls their
 * runs from graph launches. */
int fake_cublaslt_matmuls, fake_cublaslt_last_compute, fake_cublaslt_heuristics,
    fake_cublaslt_live_descriptors, fake_cublaslt_last_epilogue,
    fake_cublaslt_last_ab_type, fake_cublaslt_captured_matmuls,
    fake_cublaslt_replayed_matmuls;
/* Set by a test: a matmul on a capturing stream fails. */
int fake_cublaslt_refuse_capture;
enum { kNotSupported = 15 };

Status cublasLtCreate(void **h) {
  *h = malloc(1);
  return kOk;
}
Status cublasLtDestroy(void *h) {
  free(h);
  return kOk;
}
const char *cublasLtGetStatusString(Status s) {
  return s ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_SUCCESS";
}
Status cublasLtMatmulDescCreate(Desc **d, int compute, int scale) {
  (void)scale;
  *d = calloc(1, sizeof(Desc));
  (*d)->compute = compute;
  (*d)->epilogue = kEpilogueDefault;
  ++fake_cublaslt_live_descriptors;
  return kOk;
}
Status cublasLtMatmulDescDestroy(Desc *d) {
  --fake_cublaslt_live_descriptors;
  free(d);
  return kOk;
}
Status cublasLtMatmulDescSetAttribute(Desc *d, int attr, const void *v,
                                      size_t n) {
  (void)n;
  if (attr == kDescTransA)
    d->transA = *(const int *)v;
  else if (attr == kDescTransB)
    d->transB = *(const int *)v;
  else if (attr == kDescEpilogue)
    d->epilogue = *(const uint32_t *)v;
  else if (attr == kDescBias)
    d->bias = *(const float *const *)v;
  return kOk;
}
Status cublasLtMatrixLayoutCreate(Layout **l, int type, uint64_t rows,
                                  uint64_t cols, int64_t ld) {
  if ((type != kR32F && type != kR16F && type != kR16BF) ||
      ld < (int64_t)rows || ld < 1)
    return kInvalid;
  *l = calloc(1, sizeof(Layout));
  (*l)->type = type;
  (*l)->rows = rows;
  (*l)->cols = cols;
  (*l)->ld = ld;
  (*l)->batch = 1;
  ++fake_cublaslt_live_descriptors;
  return kOk;
}
Status cublasLtMatrixLayoutDestroy(Layout *l) {
  --fake_cublaslt_live_descriptors;
  free(l);
  return kOk;
}
Status cublasLtMatrixLayoutSetAttribute(Layout *l, int attr, const void *v,
                                        size_t n) {
  (void)n;
  if (attr == kLayoutBatchCount)
    l->batch = *(const int32_t *)v;
  else if (attr == kLayoutBatchStride)
    l->stride = *(const int64_t *)v;
  return kOk;
}
Status cublasLtMatmulPreferenceCreate(void **p) {
  *p = malloc(1);
  return kOk;
}
Status cublasLtMatmulPreferenceDestroy(void *p) {
  free(p);
  return kOk;
}
Status cublasLtMatmulPreferenceSetAttribute(void *p, int a, const void *v,
                                            size_t n) {
  (void)p;
  (void)a;
  (void)v;
  (void)n;
  return kOk;
}
Status cublasLtMatmulAlgoGetHeuristic(void *h, Desc *d, Layout *a, Layout *b,
                                      Layout *c, Layout *dl, void *p, int want,
                                      void *results, int *found) {
  (void)h;
  (void)d;
  (void)a;
  (void)b;
  (void)c;
  (void)dl;
  (void)p;
  (void)want;
  memset(results, 0, 96); /* sizeof(cublasLtMatmulHeuristicResult_t) */
  ++fake_cublaslt_heuristics;
  *found = 1;
  return kOk;
}

/* IEEE binary16 bits as a float. */
static float halfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    /* Subnormal: normalize. */
    exp = 113;
    while (!(mant & 0x400)) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof(f));
  return f;
}

/* Element `index` of a matrix of element type `type`. */
static float load(const void *m, int type, int64_t index) {
  if (type == kR16F)
    return halfToFloat(((const uint16_t *)m)[index]);
  if (type == kR16BF) {
    uint32_t bits = (uint32_t)((const uint16_t *)m)[index] << 16;
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
  }
  return ((const float *)m)[index];
}

/* op(M)[i][j] of batch entry p, column-major. */
static float at(const void *m, const Layout *l, int trans, int32_t p, int64_t i,
                int64_t j) {
  return load(m, l->type,
              p * l->stride + (trans ? j + i * l->ld : i + j * l->ld));
}

/* The forward epilogue on one element of row i of D. */
static float epilogue(const Desc *d, int64_t i, float x) {
  if (d->epilogue & kEpilogueBias)
    x += d->bias[i];
  if (d->epilogue & kEpilogueRelu)
    x = x > 0.0f ? x : 0.0f;
  if (d->epilogue & kEpilogueGelu)
    x = 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
  return x;
}

/* One product with everything it reads copied, so that a recorded one does
 * not depend on the caller's descriptors and scalars. */
typedef struct {
  Desc d;
  Layout la, lb, lo;
  float alpha, beta;
  const void *a, *b;
  float *out;
} Product;

static void compute(const Product *w) {
  const Desc *d = &w->d;
  const Layout *la = &w->la, *lb = &w->lb, *lo = &w->lo;
  int64_t m = d->transA ? la->cols : la->rows;
  int64_t k = d->transA ? la->rows : la->cols;
  int64_t n = d->transB ? lb->rows : lb->cols;
  for (int32_t p = 0; p < lo->batch; ++p) {
    float *op = w->out + p * lo->stride;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < m; ++i) {
        float sum = 0;
        for (int64_t q = 0; q < k; ++q)
          sum += at(w->a, la, d->transA, p, i, q) *
                 at(w->b, lb, d->transB, p, q, j);
        float *dst = op + i + j * lo->ld;
        /* As documented for cuBLAS: with beta == 0, C is not read (it may
         * hold NaNs). */
        *dst = epilogue(d, i,
                        w->beta == 0.0f ? w->alpha * sum
                                        : w->alpha * sum + w->beta * *dst);
      }
  }
}

static void replay(const void *payload) {
  ++fake_cublaslt_replayed_matmuls;
  compute((const Product *)payload);
}

/* What a matmul asks the driver (FakeCudaDriver.c), which the runtime
 * loaded before it created a cuBLASLt handle: whether the stream captures,
 * and, when it does, to record the product. */
typedef int (*IsCapturing)(void *, int *);
typedef int (*CaptureHook)(void *, void (*)(const void *), const void *,
                           size_t);
static IsCapturing isCapturing;
static CaptureHook captureHook;
static void findDriver(void) {
  /* Looked up at every call: the driver may have been reloaded since. */
  isCapturing = NULL;
  captureHook = NULL;
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (!driver)
    return;
  captureHook = (CaptureHook)dlsym(driver, "fake_cuda_capture_host_work");
  isCapturing = (IsCapturing)dlsym(driver, "cuStreamIsCapturing");
  dlclose(driver); /* the runtime keeps it loaded */
}

Status cublasLtMatmul(void *h, Desc *d, const float *alpha, const void *a,
                      Layout *la, const void *b, Layout *lb, const float *beta,
                      const float *c, Layout *lc, float *out, Layout *lo,
                      const void *algo, void *ws, size_t wsBytes,
                      void *stream) {
  (void)h;
  (void)algo;
  (void)ws;
  (void)wsBytes;
  int64_t m = d->transA ? la->cols : la->rows;
  int64_t k = d->transA ? la->rows : la->cols;
  int64_t kb = d->transB ? lb->cols : lb->rows;
  int64_t n = d->transB ? lb->rows : lb->cols;
  if (k != kb || (int64_t)lc->rows != m || (int64_t)lc->cols != n ||
      lo->rows != lc->rows || lo->cols != lc->cols || c != out ||
      la->batch != lc->batch || lb->batch != lc->batch ||
      lo->batch != lc->batch)
    return kInvalid;
  if (la->type != lb->type || lc->type != kR32F || lo->type != kR32F ||
      (la->type != kR32F && d->compute != kCompute32F))
    return kInvalid;
  uint32_t e = d->epilogue;
  if (e != kEpilogueDefault &&
      ((e & ~(uint32_t)(kEpilogueRelu | kEpilogueBias | kEpilogueGelu)) ||
       ((e & kEpilogueRelu) && (e & kEpilogueGelu)) ||
       ((e & kEpilogueBias) && !d->bias)))
    return kInvalid;
  fake_cublaslt_last_compute = d->compute;
  fake_cublaslt_last_epilogue = (int)d->epilogue;
  fake_cublaslt_last_ab_type = la->type;
  Product w = {*d, *la, *lb, *lo, *alpha, *beta, a, b, out};
  findDriver();
  int capturing = 0;
  if (isCapturing && captureHook && isCapturing(stream, &capturing) == 0 &&
      capturing) {
    if (fake_cublaslt_refuse_capture ||
        captureHook(stream, replay, &w, sizeof(w)) != 0)
      return kNotSupported;
    ++fake_cublaslt_captured_matmuls;
    return kOk;
  }
  ++fake_cublaslt_matmuls;
  compute(&w);
  return kOk;
}
