// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s --check-prefix=GPU
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu --precision=bf16 %s | FileCheck %s --check-prefix=BF16
// RUN: kilnc -q --target=cuda:sm_90 --emit=ptx %s | FileCheck %s --check-prefix=PTX
// RUN: not kilnc -q --target=cuda --precision=fp8 %s 2>&1 | FileCheck %s --check-prefix=BAD

// Both products go to cuBLASLt with fp16 tensor-core inputs (the default),
// overwriting their outputs: the zero fills that kiln.matmul's lowering puts
// first are gone, and no kernel multiplies. The two kernels left copy the
// results into the caller's output buffers.
// GPU-LABEL: func.func @matmul_main
// GPU-DAG: %[[OVERWRITE:.*]] = arith.constant 0 : i32
// GPU-DAG: %[[FP16:.*]] = arith.constant 1 : i32
// GPU-NOT: gpu.launch_func
// GPU: call @kiln_cuda_matmul_f32({{.*}}, %[[FP16]], %[[OVERWRITE]]) : (memref<?x?xf32, strided<[?, ?], offset: ?>>
// GPU-NOT: gpu.launch_func
// GPU: call @kiln_cuda_batch_matmul_f32({{.*}}, %[[FP16]], %[[OVERWRITE]]) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// GPU-COUNT-2: gpu.launch_func
// GPU-NOT: gpu.launch_func
// GPU-NOT: arith.mulf
// BF16: %[[BF16:.*]] = arith.constant 2 : i32
// BF16: call @kiln_cuda_matmul_f32({{.*}}, %[[BF16]], %{{.*}})

// PTX: .target sm_90
// PTX-NOT: fma.rn.f32
// PTX-NOT: mul.rn.f32

// BAD: kilnc: error: --precision=fp8 is not one of fp16, bf16, tf32, fp32

// A linear layer: [tokens, 64] x [64, 256] and a batched [b, 4, s, 16] x
// [b, 4, 16, s] attention-score product.
func.func @main(
    %x: tensor<?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 64)>, kiln.name = "x"},
    %w: tensor<64x256xf32> {kiln.dims = affine_map<()[s0, s1] -> (64, 256)>, kiln.name = "w"},
    %q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>, kiln.name = "q"},
    %k: tensor<?x4x16x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, 16, s1)>, kiln.name = "kt"})
    -> (tensor<?x256xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 256)>, kiln.name = "y"},
        tensor<?x4x?x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, s1)>, kiln.name = "scores"})
    attributes {kiln.symbols = ["tokens", "seq"]} {
  %0 = kiln.matmul %x, %w : tensor<?x64xf32>, tensor<64x256xf32> -> tensor<?x256xf32>
  %1 = kiln.matmul %q, %k : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  return %0, %1 : tensor<?x256xf32>, tensor<?x4x?x?xf32>
}
