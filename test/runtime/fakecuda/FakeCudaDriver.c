/*===- FakeCudaDriver.c - A host-memory stand-in for libcuda.so.1 ---------===*
 *
 * Built as fakecuda/libcuda.so.1 for CudaRuntimeTest, which points
 * LD_LIBRARY_PATH at it: the runtime's dlopen then finds this instead of a
 * driver, so the session, arena, constant table, module cache and copies of
 * runtime/cuda run on a machine without a GPU. "Device" memory is host
 * memory; kernels are the host functions of kKernels below, run once per
 * thread of the grid, or the runtime's own attention kernels, whose device
 * source runs on the block emulator (../cudaemu). It checks nothing about
 * PTX: the images it is given are only counted.
 *
 * Stream capture records instead of running: between cuStreamBeginCapture
 * and cuStreamEndCapture, kernel launches (with copies of their parameter
 * values), device copies and memsets, and the host work FakeCublasLt.c hands
 * over through fake_cuda_capture_host_work become the nodes of a graph, and
 * cuGraphLaunch runs those nodes in order. As the real driver does in
 * CU_STREAM_CAPTURE_MODE_THREAD_LOCAL, an allocation, free, synchronize or
 * module load during a capture fails with
 * CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidates it, and the capture
 * then ends with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED. Host<->device copies
 * are refused the same way (stricter than the driver), so that a runtime
 * putting its boundary copies or a constant upload inside a capture shows
 * as a failed capture in the counters.
 * A launch of an emulated kernel is refused that way too: the stand-in does
 * not record them, so a run with attention falls back to a plain run.
 *===----------------------------------------------------------------------===*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cudaemu/FlashAttentionEmulation.h"

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum { kCaptureUnsupported = 900, kCaptureInvalidated = 901 };

/* Counters the test reads through dlsym. fake_cuda_launches counts kernels
 * run directly, not those recorded or replayed. */
int fake_cuda_module_loads, fake_cuda_launches, fake_cuda_allocs,
    fake_cuda_live_allocs, fake_cuda_htod_copies;
int fake_cuda_captures, fake_cuda_capture_mode = -1, fake_cuda_captured_nodes,
                        fake_cuda_graph_instantiates, fake_cuda_graph_launches,
                        fake_cuda_replayed_nodes, fake_cuda_graph_exec_destroys,
                        fake_cuda_live_graphs;
/* Set by a test: kernel launches during a capture are refused. */
int fake_cuda_refuse_capture_launches;

/* add_one(float *out, const float *in, int64_t n): out[i] = in[i] + 1. */
static void addOne(int64_t thread, void **params) {
  float *out = *(float **)params[0];
  const float *in = *(const float **)params[1];
  int64_t n = *(int64_t *)params[2];
  if (thread < n)
    out[thread] = in[thread] + 1.0f;
}

enum { kMaxParams = 4 };
typedef struct {
  const char *name;
  void (*fn)(int64_t thread, void **params); /* NULL: an emulated kernel */
  /* What the driver reads from a cubin's metadata: the parameters' sizes,
   * whose values a captured launch copies. */
  int numParams;
  size_t paramBytes[kMaxParams];
} Kernel;
static const Kernel kKernels[] = {{"add_one", addOne, 3, {8, 8, 8}}};
static Kernel emulated[8];
static int numEmulated;

/* The launches and last grid of emulated kernels, for the test. */
int fake_cuda_emulated_launches;
unsigned fake_cuda_last_emulated_grid[4];

static void runKernel(const Kernel *k, int64_t threads, void **params) {
  for (int64_t t = 0; t < threads; ++t)
    k->fn(t, params);
}

/*===- Graphs -------------------------------------------------------------===*/

typedef enum { kKernelNode, kCopyNode, kMemsetNode, kHostNode } NodeKind;
typedef struct {
  NodeKind kind;
  const Kernel *kernel;
  int64_t threads;
  void (*host)(const void *payload);
  unsigned char *payload; /* parameter values or host work's arguments */
  size_t payloadBytes;
  CUdeviceptr dst, src;
  size_t bytes, pitch, width, height;
  unsigned value;
} Node;
typedef struct {
  Node *nodes;
  size_t count, capacity;
} Graph;

static int stream;     /* the one stream there is */
static Graph *capture; /* the capture running on it */
static int captureInvalid;

static void freeGraph(Graph *g) {
  for (size_t i = 0; i < g->count; ++i)
    free(g->nodes[i].payload);
  free(g->nodes);
  free(g);
}

/* Refuses a call that a thread-local capture does not allow. */
static CUresult refuseDuringCapture(void) {
  captureInvalid = 1;
  return kCaptureUnsupported;
}

/* Appends `n` (its payload, `bytes` long, is copied) to the capture. */
static CUresult record(Node n, const void *payload, size_t bytes) {
  if (captureInvalid)
    return kCaptureInvalidated;
  if (capture->count == capture->capacity) {
    size_t next = capture->capacity ? 2 * capture->capacity : 16;
    Node *nodes = realloc(capture->nodes, next * sizeof(Node));
    if (!nodes)
      return 2;
    capture->nodes = nodes;
    capture->capacity = next;
  }
  n.payload = NULL;
  n.payloadBytes = bytes;
  if (bytes) {
    n.payload = malloc(bytes);
    if (!n.payload)
      return 2;
    memcpy(n.payload, payload, bytes);
  }
  capture->nodes[capture->count++] = n;
  ++fake_cuda_captured_nodes;
  return 0;
}

static void memset32(CUdeviceptr d, size_t pitch, unsigned v, size_t width,
                     size_t height) {
  for (size_t row = 0; row < height; ++row)
    for (size_t i = 0; i < width; ++i)
      ((unsigned *)(uintptr_t)(d + row * pitch))[i] = v;
}

static void runNode(const Node *n) {
  switch (n->kind) {
  case kKernelNode: {
    void *params[kMaxParams];
    size_t offset = 0;
    for (int i = 0; i < n->kernel->numParams; ++i) {
      params[i] = n->payload + offset;
      offset += n->kernel->paramBytes[i];
    }
    runKernel(n->kernel, n->threads, params);
    break;
  }
  case kCopyNode:
    memmove((void *)(uintptr_t)n->dst, (const void *)(uintptr_t)n->src,
            n->bytes);
    break;
  case kMemsetNode:
    memset32(n->dst, n->pitch, n->value, n->width, n->height);
    break;
  case kHostNode:
    n->host(n->payload);
    break;
  }
}

/* For FakeCublasLt.c, whose matmuls on a capturing stream must be recorded
 * too: records `fn(payload)` (`bytes` copied) and returns 0 when `s` is
 * capturing, returns -1 when it is not (the caller runs the work itself),
 * or an error when the capture was invalidated. */
int fake_cuda_capture_host_work(void *s, void (*fn)(const void *),
                                const void *payload, size_t bytes) {
  if (!capture || s != &stream)
    return -1;
  Node n = {.kind = kHostNode, .host = fn};
  return record(n, payload, bytes);
}

CUresult cuInit(unsigned flags) {
  (void)flags;
  return 0;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  *s = r ? "CUDA_ERROR_FAKE" : "no error";
  return 0;
}
CUresult cuDeviceGetCount(int *n) {
  *n = 1;
  return 0;
}
CUresult cuDeviceGet(int *d, int ordinal) {
  *d = ordinal;
  return 0;
}
CUresult cuDeviceGetAttribute(int *v, int attr, int d) {
  (void)attr;
  (void)d;
  *v = 0;
  return 0;
}
static int context;
CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) {
  (void)d;
  *ctx = &context;
  return 0;
}
CUresult cuDevicePrimaryCtxRelease_v2(int d) {
  (void)d;
  return 0;
}
CUresult cuCtxSetCurrent(void *ctx) { return ctx == &context ? 0 : 201; }
CUresult cuStreamCreate(void **s, unsigned flags) {
  (void)flags;
  *s = &stream;
  return 0;
}
CUresult cuStreamDestroy_v2(void *s) { return s == &stream ? 0 : 400; }
CUresult cuStreamSynchronize(void *s) {
  if (capture)
    return refuseDuringCapture();
  return s == &stream ? 0 : 400;
}
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  if (capture)
    return refuseDuringCapture();
  void *m = malloc(bytes ? bytes : 1);
  if (!m)
    return 2;
  ++fake_cuda_allocs;
  ++fake_cuda_live_allocs;
  *p = (CUdeviceptr)(uintptr_t)m;
  return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  if (capture)
    return refuseDuringCapture();
  --fake_cuda_live_allocs;
  free((void *)(uintptr_t)p);
  return 0;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *s) {
  (void)s;
  if (capture)
    return refuseDuringCapture();
  ++fake_cuda_htod_copies;
  memcpy((void *)(uintptr_t)d, h, n);
  return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, void *s) {
  (void)s;
  if (capture)
    return refuseDuringCapture();
  memcpy(h, (const void *)(uintptr_t)d, n);
  return 0;
}
/* Device copies and memsets run at once, or become a node of the capture. */
static CUresult enqueue(Node n) {
  if (capture)
    return record(n, NULL, 0);
  runNode(&n);
  return 0;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, size_t n,
                              void *s) {
  (void)s;
  Node node = {.kind = kCopyNode, .dst = d, .src = src, .bytes = n};
  return enqueue(node);
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void *s) {
  (void)s;
  Node node = {
      .kind = kMemsetNode, .dst = d, .value = v, .width = n, .height = 1};
  return enqueue(node);
}
CUresult cuMemsetD2D32Async(CUdeviceptr d, size_t pitch, unsigned v,
                            size_t width, size_t height, void *s) {
  (void)s;
  Node node = {.kind = kMemsetNode,
               .dst = d,
               .pitch = pitch,
               .value = v,
               .width = width,
               .height = height};
  return enqueue(node);
}
CUresult cuModuleLoadData(void **module, const void *image) {
  if (capture)
    return refuseDuringCapture();
  ++fake_cuda_module_loads;
  *module = (void *)image;
  return 0;
}
CUresult cuModuleUnload(void *module) {
  (void)module;
  return 0;
}
CUresult cuModuleGetFunction(void **f, void *module, const char *name) {
  (void)module;
  for (size_t i = 0; i < sizeof(kKernels) / sizeof(kKernels[0]); ++i)
    if (strcmp(kKernels[i].name, name) == 0) {
      *f = (void *)&kKernels[i];
      return 0;
    }
  if (!kiln_cudaemu_has_kernel(name))
    return 500; /* CUDA_ERROR_NOT_FOUND */
  for (int i = 0; i < numEmulated; ++i)
    if (strcmp(emulated[i].name, name) == 0) {
      *f = &emulated[i];
      return 0;
    }
  if (numEmulated == (int)(sizeof(emulated) / sizeof(emulated[0])))
    return 2;
  emulated[numEmulated].name = strdup(name);
  emulated[numEmulated].fn = NULL;
  *f = &emulated[numEmulated++];
  return 0;
}
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *s, void **params, void **extra) {
  (void)smem;
  (void)extra;
  if (s != &stream)
    return 400;
  const Kernel *k = (const Kernel *)f;
  if (!k->fn) {
    if (capture)
      return refuseDuringCapture();
    ++fake_cuda_launches;
    ++fake_cuda_emulated_launches;
    fake_cuda_last_emulated_grid[0] = gx;
    fake_cuda_last_emulated_grid[1] = gy;
    fake_cuda_last_emulated_grid[2] = gz;
    fake_cuda_last_emulated_grid[3] = bx;
    return kiln_cudaemu_launch(k->name, gx, gy, gz, bx, by, bz, params)
               ? 719 /* CUDA_ERROR_LAUNCH_FAILED */
               : 0;
  }
  int64_t threads = (int64_t)gx * gy * gz * bx * by * bz;
  if (capture) {
    if (fake_cuda_refuse_capture_launches)
      return refuseDuringCapture();
    unsigned char values[kMaxParams * 8];
    size_t bytes = 0;
    for (int i = 0; i < k->numParams; ++i) {
      memcpy(values + bytes, params[i], k->paramBytes[i]);
      bytes += k->paramBytes[i];
    }
    Node node = {.kind = kKernelNode, .kernel = k, .threads = threads};
    return record(node, values, bytes);
  }
  ++fake_cuda_launches;
  runKernel(k, threads, params);
  return 0;
}

CUresult cuStreamBeginCapture_v2(void *s, int mode) {
  if (s != &stream)
    return 400;
  if (capture)
    return kCaptureUnsupported;
  capture = calloc(1, sizeof(Graph));
  if (!capture)
    return 2;
  captureInvalid = 0;
  fake_cuda_capture_mode = mode;
  ++fake_cuda_captures;
  return 0;
}
CUresult cuStreamIsCapturing(void *s, int *status) {
  (void)s;
  *status = !capture ? 0 : captureInvalid ? 2 : 1;
  return 0;
}
CUresult cuStreamEndCapture(void *s, Graph **graph) {
  if (s != &stream || !capture)
    return 401; /* CUDA_ERROR_ILLEGAL_STATE */
  Graph *g = capture;
  capture = NULL;
  *graph = NULL;
  if (captureInvalid) {
    freeGraph(g);
    return kCaptureInvalidated;
  }
  ++fake_cuda_live_graphs;
  *graph = g;
  return 0;
}
CUresult cuGraphDestroy(Graph *g) {
  --fake_cuda_live_graphs;
  freeGraph(g);
  return 0;
}
/* An executable graph is a deep copy: it outlives the graph it came from. */
CUresult cuGraphInstantiateWithFlags(Graph **exec, Graph *g,
                                     unsigned long long flags) {
  (void)flags;
  Graph *copy = calloc(1, sizeof(Graph));
  if (!copy)
    return 2;
  copy->nodes = calloc(g->count ? g->count : 1, sizeof(Node));
  for (size_t i = 0; copy->nodes && i < g->count; ++i) {
    Node n = g->nodes[i];
    if (n.payload) {
      n.payload = malloc(n.payloadBytes);
      memcpy(n.payload, g->nodes[i].payload, n.payloadBytes);
    }
    copy->nodes[copy->count++] = n;
  }
  ++fake_cuda_graph_instantiates;
  ++fake_cuda_live_graphs;
  *exec = copy;
  return 0;
}
CUresult cuGraphLaunch(Graph *exec, void *s) {
  if (s != &stream)
    return 400;
  if (capture)
    return refuseDuringCapture();
  ++fake_cuda_graph_launches;
  for (size_t i = 0; i < exec->count; ++i)
    runNode(&exec->nodes[i]);
  fake_cuda_replayed_nodes += (int)exec->count;
  return 0;
}
CUresult cuGraphExecDestroy(Graph *exec) {
  ++fake_cuda_graph_exec_destroys;
  --fake_cuda_live_graphs;
  freeGraph(exec);
  return 0;
}
