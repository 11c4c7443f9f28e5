//===- Passes.td - CUDA code generation passes -------------*- tablegen -*-===//

#ifndef KILN_CODEGEN_CUDA_PASSES
#define KILN_CODEGEN_CUDA_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// CUDA code generation (codegen/cuda)
//===----------------------------------------------------------------------===//

def KilnCudaDeviceMemory : Pass<"kiln-cuda-device-memory", "::mlir::ModuleOp"> {
  let summary = "Point the host code of a CUDA module at device memory";
  let description = [{
    Runs on the LLVM dialect, after `gpu-to-llvm` and
    `finalize-memref-to-llvm{use-generic-functions=1}`. Outside `gpu.module`s,
    every buffer the host code allocates becomes a buffer of the session's
    device arena, and every constant global it reads (weights, folded
    constants) is read through its device copy, which the runtime uploads on
    the session's first use:

    ```
    %p = llvm.call @_mlir_memref_to_llvm_alloc(%n)
      => %p = llvm.call @kiln_cuda_alloc(%n)
    llvm.call @_mlir_memref_to_llvm_free(%p)
      => llvm.call @kiln_cuda_free(%p)
    %w = llvm.mlir.addressof @weight : !llvm.ptr
      => %h = llvm.mlir.addressof @weight : !llvm.ptr
         %w = llvm.call @kiln_cuda_device_constant(%h, <bytes of @weight>)
    ```

    Host code then only passes device pointers around: to kernel launches
    and to the runtime's cuBLASLt calls.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KilnCudaMatmulToCublasLt : Pass<"kiln-cuda-matmul-to-cublaslt",
                                    "::mlir::ModuleOp"> {
  let summary = "Call cuBLASLt for GEMMs on device memrefs, with epilogues";
  let description = [{
    Runs after bufferization. A plain `linalg.matmul` or
    `linalg.batch_matmul` (no user-defined indexing maps) with an f32
    output and f32, f16 or bf16 operands (f16/bf16: the inputs of a
    mixed-precision GEMM, accumulated in f32) becomes a call to the CUDA
    runtime, which runs it in cuBLASLt. When the output's zeroing comes
    right before (the fill, or copy from a zeroed buffer, that
    `kiln-lower-to-linalg` emits), the zeroing goes and cuBLASLt overwrites
    the output (beta = 0); otherwise it accumulates (beta = 1). The
    `precision` option picks the tensor-core input type of f32 operands
    (fp32 accumulation and storage in every case):

    ```
    linalg.fill ins(%zero) outs(%c)
    linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x256xf32>)
                  outs(%c : memref<?x256xf32>)
      => func.call @kiln_cuda_matmul_f32(%a', %b', %c', %precision, %c0_i32)
         // memref.cast to strided<[?, ?], offset: ?>; fp16 = 1, bf16 = 2,
         // tf32 = 3, fp32 = 0 (runtime/include/kiln/cuda.h); 0 = overwrite
    linalg.matmul ins(%a, %b : memref<?x64xf16>, memref<64x256xf16>)
                  outs(%c : memref<?x256xf32>)
      => func.call @kiln_cuda_matmul_f16(...)  // A, B: CUDA_R_16F (bf16:
         // _bf16, CUDA_R_16BF); CUBLAS_COMPUTE_32F whatever `precision`
    ```

    A zeroed 2-D matmul followed by `kiln.linear`'s epilogue generic (marked
    `kiln.epilogue`) with a bias, ReLU or tanh-GELU becomes one call that
    applies it in cuBLASLt's epilogue and writes the generic's output:

    ```
    linalg.matmul ins(%a, %w) outs(%c)
    linalg.generic {kiln.epilogue = {activation = "gelu_tanh", bias = true}}
        ins(%c, %bias) outs(%d)
      => func.call @kiln_cuda_linear_f32(%a', %w', %bias', %d', %c5_i32,
                                         %precision)
         // KILN_CUDA_EPILOGUE_BIAS | _GELU_TANH: CUBLASLT_EPILOGUE_GELU_BIAS
    ```

    Epilogues with erf-GELU or SiLU stay generics (`kiln-lower-to-linalg`
    moves those activations out of the epilogue on CUDA).
  }];
  let options = [
    Option<"precision", "precision", "std::string", /*default=*/"\"fp16\"",
           "Tensor-core input type: fp16, bf16, tf32 or fp32">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnCudaMemrefCopyToLinalg : Pass<"kiln-cuda-memref-copy-to-linalg",
                                      "::mlir::ModuleOp"> {
  let summary = "Turn memref.copy into linalg.copy so that it runs as a kernel";
  let description = [{
    Bufferization copies between buffers with `memref.copy`, which the CPU
    path lowers to a host memcpy. On CUDA both buffers live on the device, so
    the copy becomes a `linalg.copy` and goes the way of every other linalg
    op, into a kernel:

    ```
    memref.copy %a, %b : memref<?x64xf32> to memref<?x64xf32>
      => linalg.copy ins(%a : memref<?x64xf32>) outs(%b : memref<?x64xf32>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnCudaTileParallelLoops : Pass<"kiln-cuda-tile-parallel-loops",
                                     "::mlir::func::FuncOp"> {
  let summary = "Collapse each outermost scf.parallel to 1-d and tile it "
                "into blocks of threads";
  let description = [{
    `gpu-map-parallel-loops` maps an scf.parallel to the grid and a nested
    one to the threads of a block; the loops that
    `convert-linalg-to-parallel-loops` makes are single nests, so alone they
    would launch one thread per block. This pass collapses every outermost
    scf.parallel into one dimension and splits it into `block-size` threads
    per block (the last block guarded), so that the mapping gives blocks of
    `block-size` threads with consecutive threads on consecutive elements:

    ```
    scf.parallel (%i, %j) = (0, 0) to (%m, 64) step (1, 1) { body(%i, %j) }
      =>
    scf.parallel (%b) = (0) to (%m * 64) step (256) {
      scf.parallel (%t) = (0) to (256) step (1) {
        %l = %b + %t
        scf.if %l < %m * 64 { body(%l floordiv 64, %l mod 64) } } }
    ```

    Reductions stay sequential loops inside a thread (one output element
    per thread). Memory work outside any scf.parallel (a reduction over
    every dim, a rank-0 fill) is wrapped in a one-iteration scf.parallel:
    one thread runs it.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // KILN_CODEGEN_CUDA_PASSES
