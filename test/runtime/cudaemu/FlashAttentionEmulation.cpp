//===- FlashAttentionEmulation.cpp - The attention kernels on the emulator ===//
#include "FlashAttentionEmulation.h"

#include "BlockEmulator.h"
#include "kernels/FlashAttention.h"

#include <string.h>

using namespace kiln::cuda::flash;
using kiln::cudaemu::Thread;

namespace {

template <int D> void attentionBody(void *arg, Thread &gpu, void *shared) {
  attentionThread<D>(*static_cast<const Params *>(arg), gpu,
                     *static_cast<SharedTiles<D> *>(shared));
}

void combineBody(void *arg, Thread &gpu, void *) {
  combineThread(*static_cast<const Params *>(arg), gpu);
}

struct Kernel {
  const char *name;
  kiln::cudaemu::ThreadBody body;
  size_t sharedBytes;
};

const Kernel kKernels[] = {
    {kernelName(16), attentionBody<16>, sizeof(SharedTiles<16>)},
    {kernelName(32), attentionBody<32>, sizeof(SharedTiles<32>)},
    {kernelName(64), attentionBody<64>, sizeof(SharedTiles<64>)},
    {kernelName(80), attentionBody<80>, sizeof(SharedTiles<80>)},
    {kernelName(96), attentionBody<96>, sizeof(SharedTiles<96>)},
    {kernelName(128), attentionBody<128>, sizeof(SharedTiles<128>)},
    {combineKernelName(), combineBody, 0},
};

const Kernel *find(const char *name) {
  for (const Kernel &k : kKernels)
    if (strcmp(k.name, name) == 0)
      return &k;
  return nullptr;
}

} // namespace

extern "C" int kiln_cudaemu_has_kernel(const char *name) {
  return find(name) != nullptr;
}

extern "C" const char *kiln_cudaemu_launch(const char *name, unsigned gx,
                                           unsigned gy, unsigned gz,
                                           unsigned bx, unsigned by,
                                           unsigned bz, void **params) {
  const Kernel *k = find(name);
  if (!k)
    return "no such emulated kernel";
  if (by != 1 || bz != 1)
    return "the emulated kernels take 1-d blocks";
  const uint32_t grid[3] = {gx, gy, gz};
  return kiln::cudaemu::launch(grid, bx, k->sharedBytes, k->body, params[0]);
}
