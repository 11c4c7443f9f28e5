// RUN: kiln-opt %s -kiln-raise-gelu | FileCheck %s

// BERT (torch.onnx): (x * (1 + erf(x / 1.4142135))) * 0.5.
// CHECK-LABEL: func.func @erf_div
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
// CHECK-NEXT: %[[G:.*]] = kiln.gelu %[[X]] : tensor<?x8xf32>
// CHECK-NOT: approximate
// CHECK-NEXT: return %[[G]]
func.func @erf_div(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c = kiln.constant dense<1.41421354> : tensor<f32>
  %0 = kiln.div %x, %c : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %1 = kiln.erf %0 : tensor<?x8xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %2 = kiln.add %1, %one : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %3 = kiln.mul %x, %2 : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %4 = kiln.mul %3, %half : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  return %4 : tensor<?x8xf32>
}

// Other orders: 0.5 * x first, multiplication by 1/sqrt(2), constants on
// the left, a [1, 1] constant.
// CHECK-LABEL: func.func @erf_mul_reordered
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[G:.*]] = kiln.gelu %[[X]] : tensor<4x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @erf_mul_reordered(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %half = kiln.constant dense<0.5> : tensor<1x1xf32>
  %0 = kiln.mul %half, %x : tensor<1x1xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %c = kiln.constant dense<0.707106769> : tensor<f32>
  %1 = kiln.mul %c, %x : tensor<f32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %2 = kiln.erf %1 : tensor<4x8xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %3 = kiln.add %one, %2 : tensor<f32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %4 = kiln.mul %0, %3 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return %4 : tensor<4x8xf32>
}

// GPT-2 (torch.onnx): 0.5 * x * (1 + tanh(0.7978846 * (x + 0.044715 * pow(x, 3)))).
// CHECK-LABEL: func.func @tanh_pow
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32>)
// CHECK-NEXT: %[[G:.*]] = kiln.gelu %[[X]] {approximate = "tanh"} : tensor<?x?x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @tanh_pow(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %half = kiln.constant dense<5.000000e-01> : tensor<f32>
  %0 = kiln.mul %x, %half : tensor<?x?x8xf32>, tensor<f32> -> tensor<?x?x8xf32>
  %three = kiln.constant dense<3.000000e+00> : tensor<f32>
  %1 = kiln.pow %x, %three : tensor<?x?x8xf32>, tensor<f32> -> tensor<?x?x8xf32>
  %k = kiln.constant dense<4.471500e-02> : tensor<f32>
  %2 = kiln.mul %1, %k : tensor<?x?x8xf32>, tensor<f32> -> tensor<?x?x8xf32>
  %3 = kiln.add %x, %2 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %s = kiln.constant dense<0.797884583> : tensor<f32>
  %4 = kiln.mul %3, %s : tensor<?x?x8xf32>, tensor<f32> -> tensor<?x?x8xf32>
  %5 = kiln.tanh %4 : tensor<?x?x8xf32>
  %one = kiln.constant dense<1.000000e+00> : tensor<f32>
  %6 = kiln.add %5, %one : tensor<?x?x8xf32>, tensor<f32> -> tensor<?x?x8xf32>
  %7 = kiln.mul %0, %6 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  return %7 : tensor<?x?x8xf32>
}

// The cube as x * (x * x) (HF's NewGELUActivation through the tracer).
// CHECK-LABEL: func.func @tanh_cube_as_products
// CHECK-NEXT: kiln.gelu %{{.*}} {approximate = "tanh"}
// CHECK-NEXT: return
func.func @tanh_cube_as_products(%x: tensor<8xf32>) -> tensor<8xf32> {
  %sq = kiln.mul %x, %x : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %1 = kiln.mul %x, %sq : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %k = kiln.constant dense<4.471500e-02> : tensor<f32>
  %2 = kiln.mul %k, %1 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %3 = kiln.add %2, %x : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %s = kiln.constant dense<0.797884583> : tensor<f32>
  %4 = kiln.mul %s, %3 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %5 = kiln.tanh %4 : tensor<8xf32>
  %one = kiln.constant dense<1.000000e+00> : tensor<f32>
  %6 = kiln.add %one, %5 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %half = kiln.constant dense<5.000000e-01> : tensor<f32>
  %7 = kiln.mul %half, %6 : tensor<f32>, tensor<8xf32> -> tensor<8xf32>
  %8 = kiln.mul %x, %7 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  return %8 : tensor<8xf32>
}

// Must not fire: 0.6 is not GELU's 0.5.
// CHECK-LABEL: func.func @wrong_half
// CHECK-NOT: kiln.gelu
// CHECK: kiln.erf
func.func @wrong_half(%x: tensor<8xf32>) -> tensor<8xf32> {
  %c = kiln.constant dense<1.41421354> : tensor<f32>
  %0 = kiln.div %x, %c : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %1 = kiln.erf %0 : tensor<8xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %2 = kiln.add %1, %one : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %3 = kiln.mul %x, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %half = kiln.constant dense<0.6> : tensor<f32>
  %4 = kiln.mul %3, %half : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  return %4 : tensor<8xf32>
}

// Must not fire: dividing by 2 instead of sqrt(2).
// CHECK-LABEL: func.func @wrong_scale
// CHECK-NOT: kiln.gelu
// CHECK: kiln.erf
func.func @wrong_scale(%x: tensor<8xf32>) -> tensor<8xf32> {
  %c = kiln.constant dense<2.0> : tensor<f32>
  %0 = kiln.div %x, %c : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %1 = kiln.erf %0 : tensor<8xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %2 = kiln.add %1, %one : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %3 = kiln.mul %x, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %4 = kiln.mul %3, %half : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  return %4 : tensor<8xf32>
}

// Must not fire: erf's result is also returned, so it must be computed anyway.
// CHECK-LABEL: func.func @intermediate_used_twice
// CHECK-NOT: kiln.gelu
// CHECK: %[[E:.*]] = kiln.erf
// CHECK: return %{{.*}}, %[[E]]
func.func @intermediate_used_twice(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %c = kiln.constant dense<1.41421354> : tensor<f32>
  %0 = kiln.div %x, %c : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %1 = kiln.erf %0 : tensor<8xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %2 = kiln.add %1, %one : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %3 = kiln.mul %x, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %4 = kiln.mul %3, %half : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  return %4, %1 : tensor<8xf32>, tensor<8xf32>
}

// Must not fire: the outer factor is another tensor than erf's argument.
// CHECK-LABEL: func.func @different_inputs
// CHECK-NOT: kiln.gelu
func.func @different_inputs(%x: tensor<8xf32>, %y: tensor<8xf32>) -> tensor<8xf32> {
  %c = kiln.constant dense<1.41421354> : tensor<f32>
  %0 = kiln.div %x, %c : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %1 = kiln.erf %0 : tensor<8xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %2 = kiln.add %1, %one : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %3 = kiln.mul %y, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %4 = kiln.mul %3, %half : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  return %4 : tensor<8xf32>
}

// Must not fire: the tanh form with 0.05 instead of 0.044715.
// CHECK-LABEL: func.func @tanh_wrong_coefficient
// CHECK-NOT: kiln.gelu
// CHECK: kiln.tanh
func.func @tanh_wrong_coefficient(%x: tensor<8xf32>) -> tensor<8xf32> {
  %half = kiln.constant dense<5.000000e-01> : tensor<f32>
  %0 = kiln.mul %x, %half : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %three = kiln.constant dense<3.000000e+00> : tensor<f32>
  %1 = kiln.pow %x, %three : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %k = kiln.constant dense<5.000000e-02> : tensor<f32>
  %2 = kiln.mul %1, %k : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %3 = kiln.add %x, %2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %s = kiln.constant dense<0.797884583> : tensor<f32>
  %4 = kiln.mul %3, %s : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %5 = kiln.tanh %4 : tensor<8xf32>
  %one = kiln.constant dense<1.000000e+00> : tensor<f32>
  %6 = kiln.add %5, %one : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
  %7 = kiln.mul %0, %6 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  return %7 : tensor<8xf32>
}

// Must not fire: f16 (raising would move where the rounding happens).
// CHECK-LABEL: func.func @not_f32
// CHECK-NOT: kiln.gelu
func.func @not_f32(%x: tensor<8xf16>) -> tensor<8xf16> {
  %c = kiln.constant dense<1.414> : tensor<f16>
  %0 = kiln.div %x, %c : tensor<8xf16>, tensor<f16> -> tensor<8xf16>
  %1 = kiln.erf %0 : tensor<8xf16>
  %one = kiln.constant dense<1.0> : tensor<f16>
  %2 = kiln.add %1, %one : tensor<8xf16>, tensor<f16> -> tensor<8xf16>
  %3 = kiln.mul %x, %2 : tensor<8xf16>, tensor<8xf16> -> tensor<8xf16>
  %half = kiln.constant dense<0.5> : tensor<f16>
  %4 = kiln.mul %3, %half : tensor<8xf16>, tensor<f16> -> tensor<8xf16>
  return %4 : tensor<8xf16>
}
