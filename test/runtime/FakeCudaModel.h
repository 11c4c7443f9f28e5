//===- FakeCudaModel.h - A CUDA model for the host-memory driver ----------===//
//
// What the kiln_cuda_fake_driver_tests share. They run with LD_LIBRARY_PATH
// at fakecuda/, where libcuda.so.1 and libcublasLt.so.13 are host-memory
// stand-ins (test/runtime/fakecuda): no GPU and no real driver take part,
// kernels are host functions and device memory is host memory. kModel is a
// model whose hand-written "generated code" calls what kilnc's CUDA host
// code calls (arena allocations, device constants, memset, kernel launches,
// cuBLASLt matmuls on row-major memrefs, some through transposed views and
// strided batches); Io holds its operands and expectReference checks its
// outputs against a host reference.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_RUNTIME_FAKECUDAMODEL_H
#define KILN_TEST_RUNTIME_FAKECUDAMODEL_H

#include "kiln/cuda.h"
#include "kiln/runtime.h"

#include <cstdint>
#include <vector>

extern "C" {
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gx, intptr_t gy, intptr_t gz,
                      intptr_t bx, intptr_t by, intptr_t bz, int32_t smem,
                      void *stream, void **params, void **extra, size_t count);
void *mgpuStreamCreate();
void mgpuMemset32(void *dst, unsigned value, size_t count, void *stream);
}

namespace kiln::test {

template <int Rank, typename T = float> struct Memref {
  T *allocated, *aligned;
  int64_t offset, sizes[Rank], strides[Rank];
};

extern "C" void _mlir_ciface_kiln_cuda_matmul_f32(Memref<2> *, Memref<2> *,
                                                  Memref<2> *, int32_t,
                                                  int32_t);
extern "C" void _mlir_ciface_kiln_cuda_batch_matmul_f32(Memref<3> *,
                                                        Memref<3> *,
                                                        Memref<3> *, int32_t,
                                                        int32_t);
extern "C" void _mlir_ciface_kiln_cuda_linear_f32(Memref<2> *, Memref<2> *,
                                                  Memref<1> *, Memref<2> *,
                                                  int32_t, int32_t);

#define KILN_HALF_ENTRY_POINTS(suffix)                                         \
  extern "C" void _mlir_ciface_kiln_cuda_matmul_##suffix(                      \
      Memref<2, uint16_t> *, Memref<2, uint16_t> *, Memref<2> *, int32_t,      \
      int32_t);                                                                \
  extern "C" void _mlir_ciface_kiln_cuda_batch_matmul_##suffix(                \
      Memref<3, uint16_t> *, Memref<3, uint16_t> *, Memref<3> *, int32_t,      \
      int32_t);                                                                \
  extern "C" void _mlir_ciface_kiln_cuda_linear_##suffix(                      \
      Memref<2, uint16_t> *, Memref<2, uint16_t> *, Memref<1> *, Memref<2> *,  \
      int32_t, int32_t);
KILN_HALF_ENTRY_POINTS(f16)
KILN_HALF_ENTRY_POINTS(bf16)
#undef KILN_HALF_ENTRY_POINTS

inline constexpr int32_t kOverwrite = 0, kAccumulate = 1;
inline constexpr char kImage[] = "not a real fatbinary";

// y = x·w + x·(wT viewed transposed) + 1 = 2·x·w + 1, accumulated into a
// buffer that an empty (K = 0) overwriting matmul cleared of NaNs, and
// z[b] = x2[b]·w with the weight shared across the batch (batch stride 0),
// overwriting NaNs.
int32_t fakeRun(void *const *in, void *const *out, const int64_t *s);

// Symbol n; inputs x: f32 [n, 4], x2: f32 [2, n, 4]; outputs y: f32 [n, 3],
// z: f32 [2, n, 3]; fakeRun on kiln_cuda_device.
extern const kiln_abi_model kModel;

// The stand-ins stay loaded for the whole test (the runtime dlcloses its
// handles with the session), so their counters can be read at any time.
// `name` is "driver" or "blas".
void *fakeLibrary(const char *name);
int driverCounter(const char *name);
int blasCounter(const char *name);

// The fake model's inputs for symbol n (their values vary with `seed`), its
// output buffers (filled with -1) and the tensors pointing at them.
struct Io {
  int64_t n;
  std::vector<float> x, x2, y, z;
  int64_t xDims[2], x2Dims[3], yDims[2], zDims[3];
  kiln_tensor in[2], out[2];

  Io(int64_t n, int seed)
      : n(n), x(n * 4), x2(2 * n * 4), y(n * 3, -1.0f), z(2 * n * 3, -1.0f),
        xDims{n, 4}, x2Dims{2, n, 4}, yDims{n, 3}, zDims{2, n, 3} {
    refill(seed);
    in[0] = {KILN_DTYPE_F32, 2, xDims, x.data(), x.size() * sizeof(float)};
    in[1] = {KILN_DTYPE_F32, 3, x2Dims, x2.data(), x2.size() * sizeof(float)};
    out[0] = {KILN_DTYPE_F32, 2, yDims, y.data(), y.size() * sizeof(float)};
    out[1] = {KILN_DTYPE_F32, 3, zDims, z.data(), z.size() * sizeof(float)};
  }
  Io(const Io &) = delete;
  Io &operator=(const Io &) = delete;

  // Small integers and halves: every product and sum of the model and its
  // reference is exact.
  void refill(int seed) {
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = float((i + seed) % 7) - 3.0f;
    for (size_t i = 0; i < x2.size(); ++i)
      x2[i] = float((i + 2 * seed) % 5) * 0.5f;
  }
};

// Expects y = 2·x·w + 1 and z[b] = x2[b]·w, computed on the host.
void expectReference(const Io &io);

} // namespace kiln::test

#endif
