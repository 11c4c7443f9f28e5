// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s --check-prefix=GPU
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu --precision=bf16 %s | FileCheck %s --check-prefix=BF16
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu --precision=fp32 %s | FileCheck %s --check-prefix=FP32
// RUN: kilnc -q --target=cuda:sm_90 --emit=ptx %s | FileCheck %s --check-prefix=PTX
// RUN: not kilnc -q --target=cuda --precision=fp8 %s 2>&1 | FileCheck %s --check-prefix=BAD

// Both products go to cuBLASLt with fp16 operands (the default: weights
// stored in fp16, activations cast by a kernel; the output stays f32),
// overwriting their outputs: the zero fills that kiln.matmul's lowering puts
// first are gone, and no kernel multiplies.
// GPU-LABEL: func.func @matmul_main
// GPU-DAG: %[[OVERWRITE:.*]] = arith.constant 0 : i32
// GPU-DAG: %[[FP16:.*]] = arith.constant 1 : i32
// GPU: call @kiln_cuda_matmul_f16({{.*}}, %[[FP16]], %[[OVERWRITE]]) : (memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?x?xf32
// GPU: call @kiln_cuda_batch_matmul_f16({{.*}}, %[[FP16]], %[[OVERWRITE]]) : (memref<?x?x?xf16, strided<[?, ?, ?], offset: ?>>
// GPU-NOT: arith.mulf
// BF16: call @kiln_cuda_matmul_bf16(
// BF16: call @kiln_cuda_batch_matmul_bf16(

// With fp32 storage the products take the f32 operands as they are: no
// kernel but the two copies into the caller's output buffers.
// FP32-LABEL: func.func @matmul_main
// FP32-NOT: gpu.launch_func
// FP32: call @kiln_cuda_matmul_f32({{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>
// FP32-NOT: gpu.launch_func
// FP32: call @kiln_cuda_batch_matmul_f32({{.*}}) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// FP32-COUNT-2: gpu.launch_func
// FP32-NOT: gpu.launch_func
// FP32-NOT: arith.mulf

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
