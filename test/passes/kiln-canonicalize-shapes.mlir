// RUN: kiln-opt %s -kiln-canonicalize-shapes --mlir-print-local-scope | FileCheck %s

// CHECK-LABEL: func.func @reshape_chain
// CHECK-NEXT: %[[R:.*]] = kiln.reshape %arg0 {shape = affine_map<()[s0] -> (s0, 64)>}
// CHECK-NEXT: return %[[R]]
func.func @reshape_chain(%x: tensor<?x4x16xf32>) -> tensor<?x64xf32> {
  %0 = kiln.reshape %x {shape = affine_map<()[s0] -> (s0, 64, 1)>} : tensor<?x4x16xf32> -> tensor<?x64x1xf32>
  %1 = kiln.reshape %0 {shape = affine_map<()[s0] -> (s0, 64)>} : tensor<?x64x1xf32> -> tensor<?x64xf32>
  return %1 : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @transpose_chain
// CHECK-NEXT: %[[T:.*]] = kiln.transpose %arg0 {perm = array<i64: 2, 0, 1>}
// CHECK-NEXT: return %[[T]]
func.func @transpose_chain(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = kiln.transpose %x {perm = array<i64: 1, 0, 2>} : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %1 = kiln.transpose %0 {perm = array<i64: 2, 1, 0>} : tensor<3x2x4xf32> -> tensor<4x2x3xf32>
  return %1 : tensor<4x2x3xf32>
}

// A reshape with a symbolic result shape is not an identity even when the
// types match: it must not fire.
// CHECK-LABEL: func.func @dynamic_reshape_kept
// CHECK: kiln.reshape
func.func @dynamic_reshape_kept(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = kiln.reshape %x {shape = affine_map<()[s0, s1] -> (s1, s0)>} : tensor<?x?xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
