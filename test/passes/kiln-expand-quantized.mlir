// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-expand-quantized))' | FileCheck %s

// kiln.qlinear_int4 with zero points, bias and GELU: the weight is
// dequantized as (q - zp[k / g]) * s[k / g], the group rows gathered by a
// constant index (K = 10 in groups of 8: eight 0s and two 1s), then an f32
// matmul, the bias and the activation.
// CHECK-LABEL: func.func @int4_zero_points
// CHECK-SAME: (%[[X:.*]]: tensor<?x10xf32>, %[[W:.*]]: tensor<10x3xi8>, %[[S:.*]]: tensor<2x3xf32>, %[[ZP:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK: %[[I:.*]] = kiln.constant dense<[0, 0, 0, 0, 0, 0, 0, 0, 1, 1]> : tensor<10xi64>
// CHECK: %[[WF:.*]] = kiln.cast %[[W]] : tensor<10x3xi8> -> tensor<10x3xf32>
// CHECK: %[[ZPR:.*]] = kiln.gather %[[ZP]][%[[I]]] {axis = 0 : i64} : tensor<2x3xf32>, tensor<10xi64> -> tensor<10x3xf32>
// CHECK: %[[C:.*]] = kiln.sub %[[WF]], %[[ZPR]]
// CHECK: %[[SR:.*]] = kiln.gather %[[S]][%[[I]]] {axis = 0 : i64} : tensor<2x3xf32>, tensor<10xi64> -> tensor<10x3xf32>
// CHECK: %[[D:.*]] = kiln.mul %[[C]], %[[SR]]
// CHECK: %[[M:.*]] = kiln.matmul %[[X]], %[[D]] : tensor<?x10xf32>, tensor<10x3xf32> -> tensor<?x3xf32>
// CHECK: %[[Y:.*]] = kiln.add %[[M]], %[[B]]
// CHECK: %[[G:.*]] = kiln.gelu %[[Y]]
// CHECK: return %[[G]]
func.func @int4_zero_points(%x: tensor<?x10xf32>, %w: tensor<10x3xi8>, %s: tensor<2x3xf32>, %zp: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %y = kiln.qlinear_int4 %x, %w, %s zero_points %zp bias %b {activation = "gelu", group_size = 8 : i64} : tensor<?x10xf32>, tensor<10x3xi8>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<3xf32> -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// Signed values without zero points: no subtraction.
// CHECK-LABEL: func.func @int4_symmetric
// CHECK-NOT: kiln.sub
// CHECK: kiln.gather
// CHECK: kiln.mul
// CHECK: kiln.matmul {{.*}} : tensor<?x?x64xf32>, tensor<64x4xf32> -> tensor<?x?x4xf32>
// CHECK-NEXT: return
func.func @int4_symmetric(%x: tensor<?x?x64xf32>, %w: tensor<64x4xi8>, %s: tensor<2x4xf32>) -> tensor<?x?x4xf32> {
  %y = kiln.qlinear_int4 %x, %w, %s {group_size = 32 : i64} : tensor<?x?x64xf32>, tensor<64x4xi8>, tensor<2x4xf32> -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// kiln.qlinear with a static input quantization: q - z with q =
// clip(round(x / s) + z, 0, 255) in f32, cast to i32, an integer matmul,
// then the rescale by s times the column scales.
// CHECK-LABEL: func.func @qlinear_static
// CHECK-SAME: (%[[X:.*]]: tensor<?x2xf32>, %[[W:.*]]: tensor<2x3xi8>, %[[S:.*]]: tensor<3xf32>)
// CHECK-DAG: %[[SC:.*]] = kiln.constant dense<2.500000e-01> : tensor<f32>
// CHECK-DAG: %[[Z:.*]] = kiln.constant dense<1.300000e+01> : tensor<f32>
// CHECK: %[[D:.*]] = kiln.div %[[X]], %[[SC]]
// CHECK: %[[R:.*]] = kiln.round %[[D]]
// CHECK: %[[A:.*]] = kiln.add %[[R]], %[[Z]]
// CHECK: %[[C:.*]] = kiln.clip %[[A]] {max = 2.550000e+02 : f64, min = 0.000000e+00 : f64}
// CHECK: %[[CE:.*]] = kiln.sub %[[C]], %[[Z]]
// CHECK: %[[I:.*]] = kiln.cast %[[CE]] : tensor<?x2xf32> -> tensor<?x2xi32>
// CHECK: %[[M:.*]] = kiln.matmul %[[I]], %[[W]] : tensor<?x2xi32>, tensor<2x3xi8> -> tensor<?x3xi32>
// CHECK: %[[RS:.*]] = kiln.mul %[[S]], %[[SC]] : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
// CHECK: %[[MF:.*]] = kiln.cast %[[M]] : tensor<?x3xi32> -> tensor<?x3xf32>
// CHECK: %[[Y:.*]] = kiln.mul %[[MF]], %[[RS]]
// CHECK: return %[[Y]]
func.func @qlinear_static(%x: tensor<?x2xf32>, %w: tensor<2x3xi8>, %s: tensor<3xf32>) -> tensor<?x3xf32> {
  %y = kiln.qlinear %x, %w, %s {quant = "static_u8", input_scale = 0.25 : f32, input_zero_point = 13 : i32} : tensor<?x2xf32>, tensor<2x3xi8>, tensor<3xf32> -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
