/*===- FlashAttentionEmulation.h - The attention kernels on the emulator --===*
 *
 * The kernels of runtime/cuda/kernels/FlashAttention.cu, built from the same
 * header as host code and run by BlockEmulator. C linkage: the fake driver
 * (fakecuda/FakeCudaDriver.c) launches them by name.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_TEST_RUNTIME_CUDAEMU_FLASHATTENTIONEMULATION_H
#define KILN_TEST_RUNTIME_CUDAEMU_FLASHATTENTIONEMULATION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether `name` is one of FlashAttention.cu's kernels. */
int kiln_cudaemu_has_kernel(const char *name);

/* Runs kernel `name` on a gx x gy x gz grid of bx-thread blocks (by = bz =
 * 1), as cuLaunchKernel would with `params` (params[0] points to the
 * kernel's kiln::cuda::flash::Params). Returns null, or what went wrong. */
const char *kiln_cudaemu_launch(const char *name, unsigned gx, unsigned gy,
                                unsigned gz, unsigned bx, unsigned by,
                                unsigned bz, void **params);

#ifdef __cplusplus
}
#endif

#endif
