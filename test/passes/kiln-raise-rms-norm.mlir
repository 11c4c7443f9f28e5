// RUN: kiln-opt %s -kiln-raise-rms-norm | FileCheck %s

// Llama (torch.onnx, Pow(x, 2) imported as x * x): w * (x * (1 / sqrt(mean(x * x) + eps))).
// CHECK-LABEL: func.func @llama
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NEXT: %[[R:.*]] = kiln.rms_norm %[[X]], %[[W]] {epsilon = 9.99999997E-7 : f32}
// CHECK-NEXT: return %[[R]]
func.func @llama(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %0 = kiln.mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 2>, keepdims = true} : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %eps = kiln.constant dense<9.99999997E-7> : tensor<f32>
  %2 = kiln.add %1, %eps : tensor<?x?x1xf32>, tensor<f32> -> tensor<?x?x1xf32>
  %3 = kiln.sqrt %2 : tensor<?x?x1xf32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %4 = kiln.div %one, %3 : tensor<f32>, tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %5 = kiln.mul %x, %4 : tensor<?x?x64xf32>, tensor<?x?x1xf32> -> tensor<?x?x64xf32>
  %6 = kiln.mul %w, %5 : tensor<64xf32>, tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  return %6 : tensor<?x?x64xf32>
}

// T5 style: pow(x, 2), eps on the left, rsqrt, weight on the right.
// CHECK-LABEL: func.func @pow_rsqrt
// CHECK-SAME: (%[[X:.*]]: tensor<4x32xf32>, %[[W:.*]]: tensor<32xf32>)
// CHECK-NEXT: %[[R:.*]] = kiln.rms_norm %[[X]], %[[W]] {epsilon = 9.99999997E-7 : f32}
// CHECK-NEXT: return %[[R]]
func.func @pow_rsqrt(%x: tensor<4x32xf32>, %w: tensor<32xf32>) -> tensor<4x32xf32> {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %0 = kiln.pow %x, %two : tensor<4x32xf32>, tensor<f32> -> tensor<4x32xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<9.99999997E-7> : tensor<f32>
  %2 = kiln.add %eps, %1 : tensor<f32>, tensor<4x1xf32> -> tensor<4x1xf32>
  %3 = kiln.rsqrt %2 : tensor<4x1xf32>
  %4 = kiln.mul %3, %x : tensor<4x1xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %5 = kiln.mul %4, %w : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %5 : tensor<4x32xf32>
}

// x / sqrt(.) and reciprocal(sqrt(.)) forms.
// CHECK-LABEL: func.func @div_and_reciprocal
// CHECK: kiln.rms_norm
// CHECK: kiln.rms_norm
// CHECK-NOT: kiln.sqrt
// CHECK: return
func.func @div_and_reciprocal(%x: tensor<4x32xf32>, %w: tensor<32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %0 = kiln.mul %x, %x : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %2 = kiln.add %1, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %3 = kiln.sqrt %2 : tensor<4x1xf32>
  %4 = kiln.div %x, %3 : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %5 = kiln.mul %4, %w : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  %a = kiln.mul %x, %x : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %b = kiln.reduce_mean %a {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %c = kiln.add %b, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %d = kiln.sqrt %c : tensor<4x1xf32>
  %e = kiln.reciprocal %d : tensor<4x1xf32>
  %f = kiln.mul %x, %e : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %g = kiln.mul %w, %f : tensor<32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  return %5, %g : tensor<4x32xf32>, tensor<4x32xf32>
}

// HF Llama in f16: statistics in f32 between casts, weight in f16.
// CHECK-LABEL: func.func @f16_with_casts
// CHECK-SAME: (%[[X:.*]]: tensor<4x32xf16>, %[[W:.*]]: tensor<32xf16>)
// CHECK-NEXT: %[[R:.*]] = kiln.rms_norm %[[X]], %[[W]] {{.*}} : tensor<4x32xf16>, tensor<32xf16> -> tensor<4x32xf16>
// CHECK-NEXT: return %[[R]]
func.func @f16_with_casts(%x16: tensor<4x32xf16>, %w: tensor<32xf16>) -> tensor<4x32xf16> {
  %x = kiln.cast %x16 : tensor<4x32xf16> -> tensor<4x32xf32>
  %0 = kiln.mul %x, %x : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %2 = kiln.add %1, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %3 = kiln.rsqrt %2 : tensor<4x1xf32>
  %4 = kiln.mul %x, %3 : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %5 = kiln.cast %4 : tensor<4x32xf32> -> tensor<4x32xf16>
  %6 = kiln.mul %w, %5 : tensor<32xf16>, tensor<4x32xf16> -> tensor<4x32xf16>
  return %6 : tensor<4x32xf16>
}

// Must not fire: the mean is over the first axis, not the hidden one.
// CHECK-LABEL: func.func @wrong_axis
// CHECK-NOT: kiln.rms_norm
func.func @wrong_axis(%x: tensor<4x32xf32>, %w: tensor<32xf32>) -> tensor<4x32xf32> {
  %0 = kiln.mul %x, %x : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 0>, keepdims = true} : tensor<4x32xf32> -> tensor<1x32xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %2 = kiln.add %1, %eps : tensor<1x32xf32>, tensor<f32> -> tensor<1x32xf32>
  %3 = kiln.rsqrt %2 : tensor<1x32xf32>
  %4 = kiln.mul %x, %3 : tensor<4x32xf32>, tensor<1x32xf32> -> tensor<4x32xf32>
  %5 = kiln.mul %4, %w : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %5 : tensor<4x32xf32>
}

// Must not fire: the mean of squares is also returned.
// CHECK-LABEL: func.func @mean_used_twice
// CHECK-NOT: kiln.rms_norm
func.func @mean_used_twice(%x: tensor<4x32xf32>, %w: tensor<32xf32>) -> (tensor<4x32xf32>, tensor<4x1xf32>) {
  %0 = kiln.mul %x, %x : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %2 = kiln.add %1, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %3 = kiln.rsqrt %2 : tensor<4x1xf32>
  %4 = kiln.mul %x, %3 : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %5 = kiln.mul %4, %w : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %5, %1 : tensor<4x32xf32>, tensor<4x1xf32>
}

// Must not fire: the squares are of another tensor than the one normalized.
// CHECK-LABEL: func.func @other_tensor
// CHECK-NOT: kiln.rms_norm
func.func @other_tensor(%x: tensor<4x32xf32>, %y: tensor<4x32xf32>, %w: tensor<32xf32>) -> tensor<4x32xf32> {
  %0 = kiln.mul %y, %y : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %2 = kiln.add %1, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %3 = kiln.rsqrt %2 : tensor<4x1xf32>
  %4 = kiln.mul %x, %3 : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %5 = kiln.mul %4, %w : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %5 : tensor<4x32xf32>
}

// Must not fire: a cube, not a square.
// CHECK-LABEL: func.func @wrong_power
// CHECK-NOT: kiln.rms_norm
func.func @wrong_power(%x: tensor<4x32xf32>, %w: tensor<32xf32>) -> tensor<4x32xf32> {
  %three = kiln.constant dense<3.0> : tensor<f32>
  %0 = kiln.pow %x, %three : tensor<4x32xf32>, tensor<f32> -> tensor<4x32xf32>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %2 = kiln.add %1, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %3 = kiln.rsqrt %2 : tensor<4x1xf32>
  %4 = kiln.mul %x, %3 : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %5 = kiln.mul %4, %w : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %5 : tensor<4x32xf32>
}

// Must not fire: f16 statistics without the casts to f32.
// CHECK-LABEL: func.func @not_f32
// CHECK-NOT: kiln.rms_norm
func.func @not_f32(%x: tensor<4x32xf16>, %w: tensor<32xf16>) -> tensor<4x32xf16> {
  %0 = kiln.mul %x, %x : tensor<4x32xf16>, tensor<4x32xf16> -> tensor<4x32xf16>
  %1 = kiln.reduce_mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf16> -> tensor<4x1xf16>
  %eps = kiln.constant dense<1.0e-5> : tensor<f16>
  %2 = kiln.add %1, %eps : tensor<4x1xf16>, tensor<f16> -> tensor<4x1xf16>
  %3 = kiln.rsqrt %2 : tensor<4x1xf16>
  %4 = kiln.mul %x, %3 : tensor<4x32xf16>, tensor<4x1xf16> -> tensor<4x32xf16>
  %5 = kiln.mul %4, %w : tensor<4x32xf16>, tensor<32xf16> -> tensor<4x32xf16>
  return %5 : tensor<4x32xf16>
}

// Must not fire, nor crash: a product of two scalars (an int8 model's
// activation and weight scales) has no hidden dim to normalize over.
// CHECK-LABEL: func.func @scalar_product
// CHECK: kiln.mul
// CHECK-NOT: kiln.rms_norm
func.func @scalar_product(%a: tensor<f32>, %b: tensor<f32>) -> tensor<f32> {
  %0 = kiln.mul %a, %b : tensor<f32>, tensor<f32> -> tensor<f32>
  return %0 : tensor<f32>
}
