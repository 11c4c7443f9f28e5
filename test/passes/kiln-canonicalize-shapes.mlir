// RUN: kiln-opt %s -kiln-canonicalize-shapes --mlir-print-local-scope | FileCheck %s
// RUN: kiln-opt %s -kiln-canonicalize-shapes | FileCheck %s --check-prefix=BLOB

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

// One-element float arithmetic folds, as exporters write an attention scale:
// full([], 0) + 16 ** 0.5.
// CHECK-LABEL: func.func @scalar_scale
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<4.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[D:.*]] = kiln.div %arg0, %[[C]]
// CHECK-NEXT: return %[[D]]
func.func @scalar_scale(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %base = kiln.constant dense<1.600000e+01> : tensor<f32>
  %half = kiln.constant dense<5.000000e-01> : tensor<f32>
  %root = kiln.pow %base, %half : tensor<f32>, tensor<f32> -> tensor<f32>
  %zero = kiln.fill 0.000000e+00 : f32 {shape = affine_map<() -> ()>} : tensor<f32>
  %c = kiln.add %zero, %root : tensor<f32>, tensor<f32> -> tensor<f32>
  %d = kiln.div %x, %c : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  return %d : tensor<2x8xf32>
}

// Arithmetic on a tensor of more than one element stays.
// CHECK-LABEL: func.func @vector_not_folded
// CHECK: kiln.add
func.func @vector_not_folded() -> tensor<2xf32> {
  %a = kiln.constant dense<1.000000e+00> : tensor<2xf32>
  %b = kiln.constant dense<2.000000e+00> : tensor<2xf32>
  %c = kiln.add %a, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %c : tensor<2xf32>
}

// A transposed constant is transposed at compile time (the dynamo exporter's
// tied LM head is transpose(embedding table)).
// CHECK-LABEL: func.func @constant_transpose
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK-NEXT: return %[[C]]
func.func @constant_transpose() -> tensor<3x2xf32> {
  %c = kiln.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = kiln.transpose %c {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %t : tensor<3x2xf32>
}

// A weight blob: its transpose is a new blob (the original may still be
// read, as the tied embedding is by its gather).
// CHECK-LABEL: func.func @blob_transpose
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense_resource<w_t> : tensor<2x2xf32>
// BLOB: w_t: "0x400000000000803F000040400000004000008040"
func.func @blob_transpose() -> tensor<2x2xf32> {
  %c = kiln.constant dense_resource<w> : tensor<2x2xf32>
  %t = kiln.transpose %c {perm = array<i64: 1, 0>} : tensor<2x2xf32> -> tensor<2x2xf32>
  return %t : tensor<2x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
