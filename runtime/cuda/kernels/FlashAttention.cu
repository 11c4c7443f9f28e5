//===- FlashAttention.cu - The attention kernels' device entry points -----===//
//
// Compiled by nvcc at build time only (runtime/cuda/CMakeLists.txt) into a
// fatbinary with sm_90 and sm_100 cubins and compute_90 PTX, which the
// runtime embeds and loads per session (runtime/cuda/Attention.cpp). The
// kernels' bodies are FlashAttention.h's, shared with the host emulation
// the tests run; this file only binds them to the hardware.
//
//===----------------------------------------------------------------------===//
#include "FlashAttention.h"

using namespace kiln::cuda::flash;

namespace {

struct DeviceGpu {
  __device__ __forceinline__ int threadIdxX() const { return threadIdx.x; }
  __device__ __forceinline__ uint32_t blockIdxX() const { return blockIdx.x; }
  __device__ __forceinline__ uint32_t blockIdxY() const { return blockIdx.y; }
  __device__ __forceinline__ uint32_t blockIdxZ() const { return blockIdx.z; }
  __device__ __forceinline__ uint32_t blockDimX() const { return blockDim.x; }
  __device__ __forceinline__ void syncThreads() const { __syncthreads(); }
  __device__ __forceinline__ void syncWarp() const { __syncwarp(); }
  template <int N>
  __device__ __forceinline__ void shflXor(float (&out)[N], const float (&in)[N],
                                          int mask) const {
#pragma unroll
    for (int r = 0; r < N; ++r)
      out[r] = __shfl_xor_sync(0xffffffffu, in[r], mask);
  }
};

template <int D> __device__ __forceinline__ void attention(const Params &p) {
  __shared__ SharedTiles<D> tiles;
  DeviceGpu gpu;
  attentionThread<D>(p, gpu, tiles);
}

} // namespace

extern "C" {

// One kernel per head dim: ceil(D / 32) output dims per lane stay in
// registers.
#define KILN_FLASH_ATTENTION_KERNEL(D)                                         \
  __global__ void __launch_bounds__(kMaxWarps *kWarp)                          \
      kiln_flash_attention_f32_d##D(const Params p) {                          \
    attention<D>(p);                                                           \
  }
KILN_FLASH_ATTENTION_KERNEL(16)
KILN_FLASH_ATTENTION_KERNEL(32)
KILN_FLASH_ATTENTION_KERNEL(64)
KILN_FLASH_ATTENTION_KERNEL(80)
KILN_FLASH_ATTENTION_KERNEL(96)
KILN_FLASH_ATTENTION_KERNEL(128)
#undef KILN_FLASH_ATTENTION_KERNEL

__global__ void __launch_bounds__(kCombineThreads)
    kiln_flash_attention_combine_f32(const Params p) {
  DeviceGpu gpu;
  combineThread(p, gpu);
}

} // extern "C"
