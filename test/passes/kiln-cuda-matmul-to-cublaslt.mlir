// RUN: kiln-opt %s -kiln-cuda-matmul-to-cublaslt | FileCheck %s
// RUN: kiln-opt %s -kiln-cuda-matmul-to-cublaslt=precision=bf16 | FileCheck %s --check-prefix=BF16
// RUN: kiln-opt %s -kiln-cuda-matmul-to-cublaslt=precision=tf32 | FileCheck %s --check-prefix=TF32
// RUN: not kiln-opt %s -kiln-cuda-matmul-to-cublaslt=precision=int4 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: unknown precision 'int4' (expected fp16, bf16, tf32 or fp32)

// CHECK-DAG: func.func private @kiln_cuda_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_cuda_batch_matmul_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}

// The zero fill right before is dead: cuBLASLt overwrites (accumulate = 0).
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf32>, %[[B:.*]]: memref<64x256xf32>, %[[C:.*]]: memref<?x256xf32>)
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[CA:.*]] = memref.cast %[[A]] : memref<?x64xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[CB:.*]] = memref.cast %[[B]]
// CHECK-DAG: %[[CC:.*]] = memref.cast %[[C]]
// CHECK-DAG: %[[FP16:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[OVERWRITE:.*]] = arith.constant 0 : i32
// CHECK: call @kiln_cuda_matmul_f32(%[[CA]], %[[CB]], %[[CC]], %[[FP16]], %[[OVERWRITE]])
// CHECK-NOT: linalg.matmul
// BF16-LABEL: func.func @matmul
// BF16: arith.constant 2 : i32
// TF32-LABEL: func.func @matmul
// TF32: arith.constant 3 : i32
func.func @matmul(%a: memref<?x64xf32>, %b: memref<64x256xf32>, %c: memref<?x256xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x256xf32>)
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x256xf32>) outs(%c : memref<?x256xf32>)
  return
}

// Without a zeroing it accumulates into what the output holds.
// CHECK-LABEL: func.func @batch_matmul
// CHECK-DAG: %[[FP16:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[ACCUMULATE:.*]] = arith.constant 1 : i32
// CHECK: call @kiln_cuda_batch_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[FP16]], %[[ACCUMULATE]])
// CHECK-NOT: linalg.batch_matmul
func.func @batch_matmul(%a: memref<?x4x?xf32>, %b: memref<?x?x16xf32>, %c: memref<?x4x16xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<?x4x?xf32>, memref<?x?x16xf32>) outs(%c : memref<?x4x16xf32>)
  return
}

// A matmul with its own indexing maps (here a transposed B) is not a plain
// contraction: it stays, and becomes a kernel like any linalg op.
// CHECK-LABEL: func.func @transposed_b_stays
// CHECK: linalg.matmul
// CHECK-NOT: call @kiln_cuda
func.func @transposed_b_stays(%a: memref<8x16xf32>, %b: memref<32x16xf32>, %c: memref<8x32xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<8x16xf32>, memref<32x16xf32>) outs(%c : memref<8x32xf32>)
  return
}

// Not f32 (an integer matmul of the int8 path): stays.
// CHECK-LABEL: func.func @i32_stays
// CHECK: linalg.matmul
// CHECK-NOT: call @kiln_cuda
func.func @i32_stays(%a: memref<8x16xi32>, %b: memref<16x32xi32>, %c: memref<8x32xi32>) {
  linalg.matmul ins(%a, %b : memref<8x16xi32>, memref<16x32xi32>) outs(%c : memref<8x32xi32>)
  return
}

// On tensors (before bufferization): stays.
// CHECK-LABEL: func.func @tensor_stays
// CHECK: linalg.matmul
// CHECK-NOT: call @kiln_cuda
func.func @tensor_stays(%a: tensor<8x16xf32>, %b: tensor<16x32xf32>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x32xf32>) outs(%c : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}
