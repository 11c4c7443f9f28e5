// RUN: kiln-opt %s -kiln-cuda-memref-copy-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @copy
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf32>, %[[B:.*]]: memref<?x64xf32>)
// CHECK-NEXT: linalg.copy ins(%[[A]] : memref<?x64xf32>) outs(%[[B]] : memref<?x64xf32>)
// CHECK-NEXT: return
func.func @copy(%a: memref<?x64xf32>, %b: memref<?x64xf32>) {
  memref.copy %a, %b : memref<?x64xf32> to memref<?x64xf32>
  return
}

// Strided views and other element types copy the same way.
// CHECK-LABEL: func.func @strided_i64
// CHECK: linalg.copy ins(%{{.*}} : memref<4x?xi64, strided<[?, 1], offset: ?>>) outs(%{{.*}} : memref<4x?xi64>)
// CHECK-NOT: memref.copy
func.func @strided_i64(%a: memref<4x?xi64, strided<[?, 1], offset: ?>>, %b: memref<4x?xi64>) {
  memref.copy %a, %b : memref<4x?xi64, strided<[?, 1], offset: ?>> to memref<4x?xi64>
  return
}
