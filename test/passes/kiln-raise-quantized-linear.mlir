// RUN: kiln-opt %s -split-input-file -kiln-raise-quantized-linear | FileCheck %s

// ONNX Runtime's quantize_dynamic MatMul as the importer writes it, with a
// per-tensor weight scale (broadcast to the 3 columns) and the bias Add:
// one kiln.qlinear on the activation before quantization.
// CHECK-LABEL: func.func @per_tensor
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x2xf32>
// CHECK-DAG: %[[W:.*]] = kiln.constant dense<{{\[\[}}1, -2, 3], [4, 5, -6]]> : tensor<2x3xi8>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<5.000000e-01> : tensor<3xf32>
// CHECK: %[[Y:.*]] = kiln.qlinear %[[X]], %[[W]], %[[S]], %[[B]] {quant = "tensor_u8"} : tensor<?x?x2xf32>, tensor<2x3xi8>, tensor<3xf32>, tensor<3xf32> -> tensor<?x?x3xf32>
// CHECK-NEXT: return %[[Y]]
func.func @per_tensor(%x: tensor<?x?x2xf32>) -> tensor<?x?x3xf32> {
  %q, %s, %zp = kiln.dynamic_quantize %x : tensor<?x?x2xf32> -> tensor<?x?x2xui8>, tensor<f32>, tensor<ui8>
  %qi = kiln.cast %q : tensor<?x?x2xui8> -> tensor<?x?x2xi32>
  %zpi = kiln.cast %zp : tensor<ui8> -> tensor<i32>
  %a = kiln.sub %qi, %zpi : tensor<?x?x2xi32>, tensor<i32> -> tensor<?x?x2xi32>
  %w = kiln.constant dense<[[1, -2, 3], [4, 5, -6]]> : tensor<2x3xi8>
  %m = kiln.matmul %a, %w : tensor<?x?x2xi32>, tensor<2x3xi8> -> tensor<?x?x3xi32>
  %mf = kiln.cast %m : tensor<?x?x3xi32> -> tensor<?x?x3xf32>
  %ws = kiln.constant dense<0.5> : tensor<f32>
  %sc = kiln.mul %s, %ws : tensor<f32>, tensor<f32> -> tensor<f32>
  %y = kiln.mul %mf, %sc : tensor<?x?x3xf32>, tensor<f32> -> tensor<?x?x3xf32>
  %b = kiln.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %z = kiln.add %b, %y : tensor<3xf32>, tensor<?x?x3xf32> -> tensor<?x?x3xf32>
  return %z : tensor<?x?x3xf32>
}

// -----

// Per-column weight scales; the quantized activation also feeds a second
// reader, so the kiln.dynamic_quantize stays for it, expanded into Kiln's
// ops (reductions for the range, round, clip and casts).
// CHECK-LABEL: func.func @per_column_and_other_reader
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<[2.500000e-01, 5.000000e-01]> : tensor<2xf32>
// CHECK: kiln.reduce_min
// CHECK: kiln.reduce_max
// CHECK: kiln.round
// CHECK: kiln.clip
// CHECK: %[[Q:.*]] = kiln.cast %{{.*}} : tensor<4x2xf32> -> tensor<4x2xui8>
// CHECK: kiln.qlinear %{{.*}}, %{{.*}}, %[[S]] {quant = "tensor_u8"} : tensor<4x2xf32>, tensor<2x2xi8>, tensor<2xf32> -> tensor<4x2xf32>
// CHECK-NOT: kiln.dynamic_quantize
func.func @per_column_and_other_reader(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xui8>) {
  %q, %s, %zp = kiln.dynamic_quantize %x : tensor<4x2xf32> -> tensor<4x2xui8>, tensor<f32>, tensor<ui8>
  %qi = kiln.cast %q : tensor<4x2xui8> -> tensor<4x2xi32>
  %zpi = kiln.cast %zp : tensor<ui8> -> tensor<i32>
  %a = kiln.sub %qi, %zpi : tensor<4x2xi32>, tensor<i32> -> tensor<4x2xi32>
  %w = kiln.constant dense<[[1, -2], [4, 5]]> : tensor<2x2xi8>
  %m = kiln.matmul %a, %w : tensor<4x2xi32>, tensor<2x2xi8> -> tensor<4x2xi32>
  %mf = kiln.cast %m : tensor<4x2xi32> -> tensor<4x2xf32>
  %ws = kiln.constant dense<[0.25, 0.5]> : tensor<2xf32>
  %sc = kiln.mul %ws, %s : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %y = kiln.mul %sc, %mf : tensor<2xf32>, tensor<4x2xf32> -> tensor<4x2xf32>
  return %y, %q : tensor<4x2xf32>, tensor<4x2xui8>
}

// -----

// Must not fire: the zero point subtracted is not the quantizer's (a
// MatMulInteger without a_zero_point reads the raw uint8 values), and a
// weight that is not a constant.
// CHECK-LABEL: func.func @not_raised
// CHECK-NOT: kiln.qlinear
// CHECK: kiln.matmul
// CHECK: kiln.matmul
// CHECK-NOT: kiln.qlinear
func.func @not_raised(%x: tensor<4x2xf32>, %w2: tensor<2x2xi8>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %q, %s, %zp = kiln.dynamic_quantize %x : tensor<4x2xf32> -> tensor<4x2xui8>, tensor<f32>, tensor<ui8>
  %qi = kiln.cast %q : tensor<4x2xui8> -> tensor<4x2xi32>
  %c0 = kiln.constant dense<0> : tensor<i32>
  %a0 = kiln.sub %qi, %c0 : tensor<4x2xi32>, tensor<i32> -> tensor<4x2xi32>
  %w = kiln.constant dense<[[1, -2], [4, 5]]> : tensor<2x2xi8>
  %m0 = kiln.matmul %a0, %w : tensor<4x2xi32>, tensor<2x2xi8> -> tensor<4x2xi32>
  %mf0 = kiln.cast %m0 : tensor<4x2xi32> -> tensor<4x2xf32>
  %ws = kiln.constant dense<0.5> : tensor<f32>
  %sc = kiln.mul %s, %ws : tensor<f32>, tensor<f32> -> tensor<f32>
  %y0 = kiln.mul %mf0, %sc : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %zpi = kiln.cast %zp : tensor<ui8> -> tensor<i32>
  %a1 = kiln.sub %qi, %zpi : tensor<4x2xi32>, tensor<i32> -> tensor<4x2xi32>
  %m1 = kiln.matmul %a1, %w2 : tensor<4x2xi32>, tensor<2x2xi8> -> tensor<4x2xi32>
  %mf1 = kiln.cast %m1 : tensor<4x2xi32> -> tensor<4x2xf32>
  %sc1 = kiln.mul %s, %ws : tensor<f32>, tensor<f32> -> tensor<f32>
  %y1 = kiln.mul %mf1, %sc1 : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  return %y0, %y1 : tensor<4x2xf32>, tensor<4x2xf32>
}
