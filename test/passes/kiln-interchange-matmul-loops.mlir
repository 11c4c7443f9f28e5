// RUN: kiln-opt %s -kiln-interchange-matmul-loops | FileCheck %s

// An int32 x int8 matmul (MatMulInteger's) becomes a generic over
// (i, k, j): the reduction is the middle loop, the columns innermost.
// CHECK-DAG: #[[A:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @integer
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : memref<?x64xi32>, memref<64x192xi8>) outs(%{{.*}} : memref<?x192xi32>)
// CHECK: arith.extsi
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK-NOT: linalg.matmul
func.func @integer(%a: memref<?x64xi32>, %b: memref<64x192xi8>, %c: memref<?x192xi32>) {
  linalg.matmul ins(%a, %b : memref<?x64xi32>, memref<64x192xi8>) outs(%c : memref<?x192xi32>)
  return
}

// A bf16 batch matmul with an f32 result: (b, i, k, j).
// CHECK-LABEL: func.func @bf16_batch
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : memref<?x8x16xbf16>, memref<?x16x32xbf16>)
// CHECK-NOT: linalg.batch_matmul
func.func @bf16_batch(%a: memref<?x8x16xbf16>, %b: memref<?x16x32xbf16>, %c: memref<?x8x32xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<?x8x16xbf16>, memref<?x16x32xbf16>) outs(%c : memref<?x8x32xf32>)
  return
}

// Must not fire: f32 operands keep the named op and its order.
// CHECK-LABEL: func.func @f32_left_alone
// CHECK: linalg.matmul
// CHECK-NOT: linalg.generic
func.func @f32_left_alone(%a: memref<?x64xf32>, %b: memref<64x192xf32>, %c: memref<?x192xf32>) {
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x192xf32>) outs(%c : memref<?x192xf32>)
  return
}
