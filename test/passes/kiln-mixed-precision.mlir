// RUN: kiln-opt %s -split-input-file -kiln-mixed-precision -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-mixed-precision=type=bf16 | FileCheck %s --check-prefix=BF16
// RUN: kiln-opt %s -split-input-file -kiln-mixed-precision -kiln-lower-to-linalg -verify-diagnostics | FileCheck %s --check-prefix=LOWERED
// RUN: not kiln-opt %s -split-input-file -kiln-mixed-precision=type=f8 2>&1 | FileCheck %s --check-prefix=BADTYPE

// BADTYPE: kiln-mixed-precision: type must be f16 or bf16, got 'f8'

// A linear layer after a LayerNorm: the weight blob is converted at compile
// time (expected bytes from numpy's float16 / ml_dtypes' bfloat16 of
// [[1, -2], [0.5, 3e-6]]) and the f32 blob is gone; the normalized
// activation is cast; the LayerNorm, the bias and the result stay f32.
// CHECK-LABEL: func.func @linear_after_layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x2xf32>
// CHECK-DAG: %[[W:.*]] = kiln.constant dense_resource<w_f16> : tensor<2x2xf16>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<[2.500000e-01, -2.500000e-01]> : tensor<2xf32>
// CHECK: %[[N:.*]] = kiln.layer_norm %[[X]], {{.*}} : tensor<?x2xf32>, tensor<2xf32> -> tensor<?x2xf32>
// CHECK-NEXT: %[[NH:.*]] = kiln.cast %[[N]] : tensor<?x2xf32> -> tensor<?x2xf16>
// CHECK-NEXT: %[[Y:.*]] = kiln.linear %[[NH]], %[[W]], %[[B]] {activation = "gelu"} : tensor<?x2xf16>, tensor<2x2xf16>, tensor<2xf32> -> tensor<?x2xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x2xf32>
// BF16-LABEL: func.func @linear_after_layer_norm
// BF16: kiln.cast %{{.*}} : tensor<?x2xf32> -> tensor<?x2xbf16>
// BF16: kiln.linear {{.*}} : tensor<?x2xbf16>, tensor<2x2xbf16>, tensor<2xf32> -> tensor<?x2xf32>
// The matmul reads f16 and accumulates into an f32 tensor; the cast is an
// elementwise generic that kiln-fuse-elementwise can merge into the norm's.
// LOWERED-LABEL: func.func @linear_after_layer_norm
// LOWERED: arith.truncf {{.*}} : f32 to f16
// LOWERED: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x2xf16>, tensor<2x2xf16>) outs(%{{.*}} : tensor<?x2xf32>)
func.func @linear_after_layer_norm(%x: tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "x"})
    -> (tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "y"})
    attributes {kiln.symbols = ["seq"]} {
  %g = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %w = kiln.constant dense_resource<w> : tensor<2x2xf32>
  %b = kiln.constant dense<[0.25, -0.25]> : tensor<2xf32>
  %n = kiln.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : tensor<?x2xf32>, tensor<2xf32> -> tensor<?x2xf32>
  %y = kiln.linear %n, %w, %b {activation = "gelu"} : tensor<?x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// CHECK: dialect_resources
// CHECK-NOT: w: "
// CHECK: w_f16: "0x40000000003C00C000383200"
// BF16: w_bf16: "0x40000000803F00C0003F4936"
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F000000C00000003F9C534936"
    }
  }
#-}

// -----

// Round to nearest even at every edge, against numpy's float16: 65519 ->
// 65504, 2^-24 is the smallest subnormal, 2^-25 ties to 0, 1.5 * 2^-25 ->
// 2^-24, 1 + 2^-11 ties down to 1, 1 + 3 * 2^-11 ties up to 1 + 2^-9;
// inf, -inf, NaN and -0 keep their meaning.
// CHECK-LABEL: func.func @rounding
// CHECK: kiln.constant dense<{{\[\[}}1.000000e+00, 6.550400e+04, 6.550400e+04, 5.960460e-08, 0.000000e+00, 5.960460e-08, 1.000000e+00, 1.001950e+00, 0x7C00, 0xFC00, 0x7E00, -0.000000e+00, 1.000400e-03, -2.980230e-06]]> : tensor<1x14xf16>
// BF16-LABEL: func.func @rounding
// BF16: kiln.constant dense<{{\[\[}}1.000000e+00, 6.553600e+04, 6.553600e+04, 5.960460e-08, 2.980230e-08, 4.470350e-08, 1.000000e+00, 1.000000e+00, 0x7F80, 0xFF80, 0x7FC0, -0.000000e+00, 9.994500e-04, -2.995130e-06]]> : tensor<1x14xbf16>
func.func @rounding(%x: tensor<?x1xf32>) -> tensor<?x14xf32> {
  %w = kiln.constant dense<[[1.0, 65504.0, 65519.0, 0x33800000, 0x33000000, 0x33400000, 0x3F801000, 0x3F803000, 0x7F800000, 0xFF800000, 0x7FC00000, -0.0, 1.0e-3, -3.0e-6]]> : tensor<1x14xf32>
  %y = kiln.matmul %x, %w : tensor<?x1xf32>, tensor<1x14xf32> -> tensor<?x14xf32>
  return %y : tensor<?x14xf32>
}

// -----

// Two activations (scores = q x k^T when attention was not raised): both
// cast. The batched lowering broadcasts and reshapes in f16.
// CHECK-LABEL: func.func @activation_times_activation
// CHECK-DAG: %[[QH:.*]] = kiln.cast %{{.*}} : tensor<2x?x4x8xf32> -> tensor<2x?x4x8xf16>
// CHECK-DAG: %[[KH:.*]] = kiln.cast %{{.*}} : tensor<1x1x8x4xf32> -> tensor<1x1x8x4xf16>
// CHECK: kiln.matmul %[[QH]], %[[KH]] : tensor<2x?x4x8xf16>, tensor<1x1x8x4xf16> -> tensor<2x?x4x4xf32>
// LOWERED-LABEL: func.func @activation_times_activation
// LOWERED: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<?x4x8xf16>, tensor<?x8x4xf16>) outs(%{{.*}} : tensor<?x4x4xf32>)
func.func @activation_times_activation(%q: tensor<2x?x4x8xf32> {kiln.dims = affine_map<()[s0] -> (2, s0, 4, 8)>, kiln.name = "q"}, %k: tensor<1x1x8x4xf32> {kiln.dims = affine_map<()[s0] -> (1, 1, 8, 4)>, kiln.name = "k"})
    -> (tensor<2x?x4x4xf32> {kiln.dims = affine_map<()[s0] -> (2, s0, 4, 4)>, kiln.name = "s"})
    attributes {kiln.symbols = ["heads"]} {
  %s = kiln.matmul %q, %k : tensor<2x?x4x8xf32>, tensor<1x1x8x4xf32> -> tensor<2x?x4x4xf32>
  return %s : tensor<2x?x4x4xf32>
}

// -----

// One activation feeding three projections is cast once; one weight read
// by two GEMMs is converted once; a weight that a non-GEMM op also reads
// keeps its f32 original for that op.
// CHECK-LABEL: func.func @shared_operands
// CHECK-DAG: %[[W:.*]] = kiln.constant dense<5.000000e-01> : tensor<4x4xf16>
// CHECK-DAG: %[[V:.*]] = kiln.constant dense<2.500000e-01> : tensor<4x4xf16>
// CHECK-DAG: %[[V32:.*]] = kiln.constant dense<2.500000e-01> : tensor<4x4xf32>
// CHECK-DAG: %[[XH:.*]] = kiln.cast %{{.*}} : tensor<?x4xf32> -> tensor<?x4xf16>
// CHECK-NOT: kiln.cast
// CHECK: kiln.matmul %[[XH]], %[[W]]
// CHECK: kiln.matmul %[[XH]], %[[W]]
// CHECK: kiln.matmul %[[XH]], %[[V]]
// CHECK: kiln.add %[[V32]]
func.func @shared_operands(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<4x4xf32>) {
  %w = kiln.constant dense<0.5> : tensor<4x4xf32>
  %v = kiln.constant dense<0.25> : tensor<4x4xf32>
  %q = kiln.matmul %x, %w : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  %k = kiln.matmul %x, %w : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  %u = kiln.matmul %x, %v : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  %vv = kiln.add %v, %v : tensor<4x4xf32>, tensor<4x4xf32> -> tensor<4x4xf32>
  return %q, %k, %u, %vv : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<4x4xf32>
}

// -----

// Must not fire: integer GEMMs, GEMMs of an f16 model, f64 GEMMs, and the
// ops around GEMMs (softmax and attention keep f32).
// CHECK-LABEL: func.func @not_f32
// CHECK-NOT: kiln.cast
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<2x3xi32>, tensor<3x4xi32> -> tensor<2x4xi32>
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<2x3xf16>, tensor<3x4xf16> -> tensor<2x4xf16>
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<2x3xf64>, tensor<3x4xf64> -> tensor<2x4xf64>
// CHECK: kiln.softmax %{{.*}} {axis = 1 : i64} : tensor<2x4xf32>
// CHECK: kiln.attention {{.*}} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
func.func @not_f32(%a: tensor<2x3xi32>, %b: tensor<3x4xi32>, %c: tensor<2x3xf16>, %d: tensor<3x4xf16>, %e: tensor<2x3xf64>, %f: tensor<3x4xf64>, %s: tensor<2x4xf32>, %q: tensor<1x2x4x8xf32>)
    -> (tensor<2x4xi32>, tensor<2x4xf16>, tensor<2x4xf64>, tensor<2x4xf32>, tensor<1x2x4x8xf32>) {
  %0 = kiln.matmul %a, %b : tensor<2x3xi32>, tensor<3x4xi32> -> tensor<2x4xi32>
  %1 = kiln.matmul %c, %d : tensor<2x3xf16>, tensor<3x4xf16> -> tensor<2x4xf16>
  %2 = kiln.matmul %e, %f : tensor<2x3xf64>, tensor<3x4xf64> -> tensor<2x4xf64>
  %3 = kiln.softmax %s {axis = 1 : i64} : tensor<2x4xf32>
  %4 = kiln.attention %q, %q, %q {scale = 0.5 : f32} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %0, %1, %2, %3, %4 : tensor<2x4xi32>, tensor<2x4xf16>, tensor<2x4xf64>, tensor<2x4xf32>, tensor<1x2x4x8xf32>
}

// -----

// Must not fire in f16: a weight with a finite value beyond 65504 would
// become inf, so the GEMM stays f32 (with a warning); bf16 holds it.
// CHECK-LABEL: func.func @weight_beyond_f16
// CHECK-NOT: kiln.cast
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
// BF16-LABEL: func.func @weight_beyond_f16
// BF16: kiln.constant dense<[{{\[}}1.000000e+00, 6.553600e+04], [-9.984000e+04, 3.000000e+00]]> : tensor<2x2xbf16>
// BF16: kiln.matmul {{.*}} : tensor<?x2xbf16>, tensor<2x2xbf16> -> tensor<?x2xf32>
func.func @weight_beyond_f16(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = kiln.constant dense<[[1.0, 65520.0], [-1.0e5, 3.0]]> : tensor<2x2xf32>
  // expected-warning @+1 {{kept in f32: operand 1 'tensor<2x2xf32>' is a constant with values beyond the f16 range (|x| > 65504)}}
  %y = kiln.matmul %x, %w : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A weight whose data is not at hand (IR printed with elided resources)
// cannot be converted here: it is cast like an activation.
// CHECK-LABEL: func.func @elided_weight
// CHECK: %[[W:.*]] = kiln.constant dense_resource<elided> : tensor<2x2xf32>
// CHECK: %[[WH:.*]] = kiln.cast %[[W]] : tensor<2x2xf32> -> tensor<2x2xf16>
// CHECK: kiln.matmul %{{.*}}, %[[WH]] : tensor<?x2xf16>, tensor<2x2xf16> -> tensor<?x2xf32>
func.func @elided_weight(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = kiln.constant dense_resource<elided> : tensor<2x2xf32>
  %y = kiln.matmul %x, %w : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
