/*===- cuda.h - Kiln's CUDA runtime: what generated code calls -------------===*
 *
 * A CUDA artifact (kilnc --target=cuda) links libkiln_cuda_runtime.a. Its
 * session side is reached through the model descriptor
 * (kiln_abi_model::device, see model_abi.h) and the ordinary C API of
 * runtime.h; this header lists what the generated host code calls besides
 * MLIR's GPU runtime entry points (mgpuLaunchKernel, mgpuModuleLoad, ...),
 * which the same library implements on the dlopen'ed driver. All of them act
 * on the session that is running on the calling thread.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_CUDA_H
#define KILN_CUDA_H

#include <stdint.h>

#include "kiln/model_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GEMM precision (kilnc --precision): storage stays f32, accumulation f32,
 * and the tensor-core inputs are rounded to this type. */
#define KILN_CUDA_PRECISION_FP32 0
#define KILN_CUDA_PRECISION_FP16 1
#define KILN_CUDA_PRECISION_BF16 2
#define KILN_CUDA_PRECISION_TF32 3

/* CUDA graphs. A session runs the first call with a given set of symbol
 * values plainly, captures the device work of the second one (same symbol
 * values, same input/output device addresses) into a CUDA graph, and
 * launches that graph for later calls: one launch instead of one per kernel
 * and GEMM. Up to 8 graphs per session (least recently used replaced);
 * they are dropped when the session's device arena grows. Host copies at the
 * API boundary stay outside the graph. A capture that fails for any reason
 * ends cleanly and the call runs plainly, so results never depend on it.
 * Setting the environment variable KILN_CUDA_GRAPHS=0 before
 * kiln_session_create turns graphs off for the sessions created then. */
#define KILN_CUDA_GRAPHS_ENV "KILN_CUDA_GRAPHS"
/* The epilogue of a GEMM with kiln.linear's bias and activation, as flags:
 * BIAS adds a per-output-column vector, then RELU or GELU_TANH (cuBLASLt's
 * GELU, the tanh approximation) applies. */
#define KILN_CUDA_EPILOGUE_BIAS 1
#define KILN_CUDA_EPILOGUE_RELU 2
#define KILN_CUDA_EPILOGUE_GELU_TANH 4

/* The descriptor's device backend for target "cuda". */
extern const kiln_abi_device kiln_cuda_device;

/* Device memory for one buffer of the running model, from the session's
 * arena; freed when the run ends. */
void *kiln_cuda_alloc(int64_t bytes);
void *kiln_cuda_aligned_alloc(int64_t alignment, int64_t bytes);
void kiln_cuda_free(void *ptr);

/* The device copy of constant `host` (`bytes` long, in the artifact's
 * .rodata), uploaded on the session's first use and kept with it. */
void *kiln_cuda_device_constant(const void *host, int64_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* KILN_CUDA_H */
