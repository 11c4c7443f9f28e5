// RUN: kiln-opt %s -kiln-raise-layer-norm | FileCheck %s

// torch.onnx at opset 14 (nn.LayerNorm): Pow(d, 2), Div by Sqrt, scale, bias.
// CHECK-LABEL: func.func @opset14
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x32xf32>, %[[G:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NEXT: %[[L:.*]] = kiln.layer_norm %[[X]], %[[G]], %[[B]] {axis = 2 : i64, epsilon = 9.99999974E-6 : f32}
// CHECK-NEXT: return %[[L]]
func.func @opset14(%x: tensor<?x?x32xf32>, %g: tensor<32xf32>, %b: tensor<32xf32>) -> tensor<?x?x32xf32> {
  %m = kiln.reduce_mean %x {axes = array<i64: 2>, keepdims = true} : tensor<?x?x32xf32> -> tensor<?x?x1xf32>
  %d = kiln.sub %x, %m : tensor<?x?x32xf32>, tensor<?x?x1xf32> -> tensor<?x?x32xf32>
  %two = kiln.constant dense<2.0> : tensor<f32>
  %sq = kiln.pow %d, %two : tensor<?x?x32xf32>, tensor<f32> -> tensor<?x?x32xf32>
  %v = kiln.reduce_mean %sq {axes = array<i64: 2>, keepdims = true} : tensor<?x?x32xf32> -> tensor<?x?x1xf32>
  %eps = kiln.constant dense<9.99999974E-6> : tensor<f32>
  %e = kiln.add %v, %eps : tensor<?x?x1xf32>, tensor<f32> -> tensor<?x?x1xf32>
  %s = kiln.sqrt %e : tensor<?x?x1xf32>
  %n = kiln.div %d, %s : tensor<?x?x32xf32>, tensor<?x?x1xf32> -> tensor<?x?x32xf32>
  %y = kiln.mul %n, %g : tensor<?x?x32xf32>, tensor<32xf32> -> tensor<?x?x32xf32>
  %z = kiln.add %y, %b : tensor<?x?x32xf32>, tensor<32xf32> -> tensor<?x?x32xf32>
  return %z : tensor<?x?x32xf32>
}

// Two trailing axes, d * d, rsqrt, operands swapped, no bias.
// CHECK-LABEL: func.func @two_axes_no_bias
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8xf32>, %[[G:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[L:.*]] = kiln.layer_norm %[[X]], %[[G]] {axis = 1 : i64, epsilon = 9.99999974E-6 : f32}
// CHECK-NEXT: return %[[L]]
func.func @two_axes_no_bias(%x: tensor<2x4x8xf32>, %g: tensor<4x8xf32>) -> tensor<2x4x8xf32> {
  %m = kiln.reduce_mean %x {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x1x1xf32>
  %d = kiln.sub %x, %m : tensor<2x4x8xf32>, tensor<2x1x1xf32> -> tensor<2x4x8xf32>
  %sq = kiln.mul %d, %d : tensor<2x4x8xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  %v = kiln.reduce_mean %sq {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x1x1xf32>
  %eps = kiln.constant dense<9.99999974E-6> : tensor<f32>
  %e = kiln.add %eps, %v : tensor<f32>, tensor<2x1x1xf32> -> tensor<2x1x1xf32>
  %r = kiln.rsqrt %e : tensor<2x1x1xf32>
  %n = kiln.mul %r, %d : tensor<2x1x1xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  %y = kiln.mul %g, %n : tensor<4x8xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// Must not fire: the variance is over another axis than the mean.
// CHECK-LABEL: func.func @mismatched_axes
// CHECK-NOT: kiln.layer_norm
func.func @mismatched_axes(%x: tensor<4x32xf32>, %g: tensor<32xf32>) -> tensor<4x32xf32> {
  %m = kiln.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %d = kiln.sub %x, %m : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %sq = kiln.mul %d, %d : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %v = kiln.reduce_mean %sq {axes = array<i64: 0>, keepdims = true} : tensor<4x32xf32> -> tensor<1x32xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %e = kiln.add %v, %eps : tensor<1x32xf32>, tensor<f32> -> tensor<1x32xf32>
  %s = kiln.sqrt %e : tensor<1x32xf32>
  %n = kiln.div %d, %s : tensor<4x32xf32>, tensor<1x32xf32> -> tensor<4x32xf32>
  %y = kiln.mul %n, %g : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// Must not fire: a leading axis (not a trailing range) is normalized.
// CHECK-LABEL: func.func @leading_axis
// CHECK-NOT: kiln.layer_norm
func.func @leading_axis(%x: tensor<4x32xf32>, %g: tensor<32xf32>) -> tensor<4x32xf32> {
  %m = kiln.reduce_mean %x {axes = array<i64: 0>, keepdims = true} : tensor<4x32xf32> -> tensor<1x32xf32>
  %d = kiln.sub %x, %m : tensor<4x32xf32>, tensor<1x32xf32> -> tensor<4x32xf32>
  %sq = kiln.mul %d, %d : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %v = kiln.reduce_mean %sq {axes = array<i64: 0>, keepdims = true} : tensor<4x32xf32> -> tensor<1x32xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %e = kiln.add %v, %eps : tensor<1x32xf32>, tensor<f32> -> tensor<1x32xf32>
  %s = kiln.sqrt %e : tensor<1x32xf32>
  %n = kiln.div %d, %s : tensor<4x32xf32>, tensor<1x32xf32> -> tensor<4x32xf32>
  %y = kiln.mul %n, %g : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// Must not fire: the centered values are also returned.
// CHECK-LABEL: func.func @centered_used_elsewhere
// CHECK-NOT: kiln.layer_norm
func.func @centered_used_elsewhere(%x: tensor<4x32xf32>, %g: tensor<32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %m = kiln.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %d = kiln.sub %x, %m : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %sq = kiln.mul %d, %d : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %v = kiln.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %e = kiln.add %v, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %s = kiln.sqrt %e : tensor<4x1xf32>
  %n = kiln.div %d, %s : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %y = kiln.mul %n, %g : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %y, %d : tensor<4x32xf32>, tensor<4x32xf32>
}

// Must not fire: centered on another tensor's mean.
// CHECK-LABEL: func.func @other_mean
// CHECK-NOT: kiln.layer_norm
func.func @other_mean(%x: tensor<4x32xf32>, %o: tensor<4x32xf32>, %g: tensor<32xf32>) -> tensor<4x32xf32> {
  %m = kiln.reduce_mean %o {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %d = kiln.sub %x, %m : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %sq = kiln.mul %d, %d : tensor<4x32xf32>, tensor<4x32xf32> -> tensor<4x32xf32>
  %v = kiln.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf32> -> tensor<4x1xf32>
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %e = kiln.add %v, %eps : tensor<4x1xf32>, tensor<f32> -> tensor<4x1xf32>
  %s = kiln.sqrt %e : tensor<4x1xf32>
  %n = kiln.div %d, %s : tensor<4x32xf32>, tensor<4x1xf32> -> tensor<4x32xf32>
  %y = kiln.mul %n, %g : tensor<4x32xf32>, tensor<32xf32> -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// Must not fire: f16.
// CHECK-LABEL: func.func @not_f32
// CHECK-NOT: kiln.layer_norm
func.func @not_f32(%x: tensor<4x32xf16>, %g: tensor<32xf16>) -> tensor<4x32xf16> {
  %m = kiln.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf16> -> tensor<4x1xf16>
  %d = kiln.sub %x, %m : tensor<4x32xf16>, tensor<4x1xf16> -> tensor<4x32xf16>
  %sq = kiln.mul %d, %d : tensor<4x32xf16>, tensor<4x32xf16> -> tensor<4x32xf16>
  %v = kiln.reduce_mean %sq {axes = array<i64: 1>, keepdims = true} : tensor<4x32xf16> -> tensor<4x1xf16>
  %eps = kiln.constant dense<1.0e-5> : tensor<f16>
  %e = kiln.add %v, %eps : tensor<4x1xf16>, tensor<f16> -> tensor<4x1xf16>
  %s = kiln.sqrt %e : tensor<4x1xf16>
  %n = kiln.div %d, %s : tensor<4x32xf16>, tensor<4x1xf16> -> tensor<4x32xf16>
  %y = kiln.mul %n, %g : tensor<4x32xf16>, tensor<32xf16> -> tensor<4x32xf16>
  return %y : tensor<4x32xf16>
}
