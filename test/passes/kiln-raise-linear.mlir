// RUN: kiln-opt %s -kiln-raise-linear | FileCheck %s
// RUN: kiln-opt %s -kiln-raise-linear -kiln-lower-to-linalg | FileCheck %s --check-prefix=LOWERED

// BERT: bias first, then erf GELU (already raised by kiln-raise-gelu).
// CHECK-LABEL: func.func @bias_gelu
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32>
// CHECK-DAG: %[[W:.*]] = kiln.constant dense<1.000000e+00> : tensor<8x16xf32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<{{.*}}> : tensor<16xf32>
// CHECK: %[[Y:.*]] = kiln.linear %[[X]], %[[W]], %[[B]] {activation = "gelu"} : tensor<?x?x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x?x16xf32>
// CHECK-NEXT: return %[[Y]]
// The lowering marks the bias+activation generic on the 2-D matmul result
// for the GEMM kernel.
// LOWERED-LABEL: func.func @bias_gelu
// LOWERED: %[[MM:.*]] = linalg.matmul
// LOWERED: linalg.generic {{.*}} ins(%[[MM]], %{{.*}} : tensor<?x16xf32>, tensor<16xf32>) {{.*}} attrs = {kiln.epilogue = {activation = "gelu", bias = true}}
// LOWERED: arith.addf
// LOWERED: math.erf
func.func @bias_gelu(%x: tensor<?x?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 8)>, kiln.name = "x"})
    -> (tensor<?x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 16)>, kiln.name = "y"})
    attributes {kiln.symbols = ["batch", "seq"]} {
  %w = kiln.constant dense<1.0> : tensor<8x16xf32>
  %b = kiln.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]> : tensor<16xf32>
  %0 = kiln.matmul %x, %w : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  %1 = kiln.add %b, %0 : tensor<16xf32>, tensor<?x?x16xf32> -> tensor<?x?x16xf32>
  %2 = kiln.gelu %1 : tensor<?x?x16xf32>
  return %2 : tensor<?x?x16xf32>
}

// GPT-2: 2-D matmul + bias, reshape to 3-D, tanh GELU after the reshape.
// CHECK-LABEL: func.func @bias_reshape_gelu_tanh
// CHECK: %[[Y:.*]] = kiln.linear %{{.*}}, %{{.*}}, %{{.*}} {activation = "gelu_tanh"} : tensor<?x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %[[R:.*]] = kiln.reshape %[[Y]]
// CHECK-NEXT: return %[[R]]
func.func @bias_reshape_gelu_tanh(%x: tensor<?x8xf32>) -> tensor<?x?x16xf32> {
  %w = kiln.constant dense<1.0> : tensor<8x16xf32>
  %b = kiln.constant dense<0.5> : tensor<16xf32>
  %0 = kiln.matmul %x, %w : tensor<?x8xf32>, tensor<8x16xf32> -> tensor<?x16xf32>
  %1 = kiln.add %0, %b : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %2 = kiln.reshape %1 {shape = affine_map<()[s0, s1] -> (s0, s1, 16)>} : tensor<?x16xf32> -> tensor<?x?x16xf32>
  %3 = kiln.gelu %2 {approximate = "tanh"} : tensor<?x?x16xf32>
  return %3 : tensor<?x?x16xf32>
}

// Llama's gate projection: silu(matmul) without a bias; a bias-only linear
// (the residual add is not a bias); relu.
// CHECK-LABEL: func.func @silu_no_bias_and_relu
// CHECK: kiln.linear %{{.*}}, %{{.*}} {activation = "silu"} : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
// CHECK: %[[L:.*]] = kiln.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
// CHECK-NOT: activation
// CHECK: kiln.add %[[L]], %{{.*}} : tensor<4x16xf32>, tensor<4x16xf32>
// CHECK: kiln.linear %{{.*}}, %{{.*}}, %{{.*}} {activation = "relu"}
func.func @silu_no_bias_and_relu(%x: tensor<4x8xf32>, %r: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %w = kiln.constant dense<1.0> : tensor<8x16xf32>
  %b = kiln.constant dense<0.5> : tensor<16xf32>
  %0 = kiln.matmul %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %1 = kiln.silu %0 : tensor<4x16xf32>
  %2 = kiln.matmul %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %3 = kiln.add %2, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %4 = kiln.add %3, %r : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %5 = kiln.matmul %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %6 = kiln.add %5, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %7 = kiln.relu %6 : tensor<4x16xf32>
  return %1, %4, %7 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// Must not fire: the weight is a function argument (not packed at compile
// time), the bias broadcasts along rows instead of columns, the matmul
// result is also returned, or f16.
// CHECK-LABEL: func.func @not_raised
// CHECK-NOT: kiln.linear
// CHECK: return
func.func @not_raised(%x: tensor<4x8xf32>, %wa: tensor<8x16xf32>, %x16: tensor<4x8xf16>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf16>) {
  %w = kiln.constant dense<1.0> : tensor<8x16xf32>
  %b = kiln.constant dense<0.5> : tensor<16xf32>
  %0 = kiln.matmul %x, %wa : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %1 = kiln.add %0, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %rows = kiln.constant dense<0.5> : tensor<4x1xf32>
  %2 = kiln.matmul %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %3 = kiln.add %2, %rows : tensor<4x16xf32>, tensor<4x1xf32> -> tensor<4x16xf32>
  %4 = kiln.matmul %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %5 = kiln.add %4, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %w16 = kiln.constant dense<1.0> : tensor<8x16xf16>
  %b16 = kiln.constant dense<0.5> : tensor<16xf16>
  %6 = kiln.matmul %x16, %w16 : tensor<4x8xf16>, tensor<8x16xf16> -> tensor<4x16xf16>
  %7 = kiln.add %6, %b16 : tensor<4x16xf16>, tensor<16xf16> -> tensor<4x16xf16>
  return %1, %3, %5, %4, %7 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf16>
}

// Must not fire: the activation's input is a linear that already has one,
// or a linear with another use.
// CHECK-LABEL: func.func @activation_not_absorbed
// CHECK: kiln.linear {{.*}} {activation = "silu"}
// CHECK: kiln.relu
// CHECK: %[[L:.*]] = kiln.linear
// CHECK: kiln.gelu %[[L]]
func.func @activation_not_absorbed(%x: tensor<4x8xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %w = kiln.constant dense<1.0> : tensor<8x16xf32>
  %b = kiln.constant dense<0.5> : tensor<16xf32>
  %0 = kiln.linear %x, %w {activation = "silu"} : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  %1 = kiln.relu %0 : tensor<4x16xf32>
  %2 = kiln.linear %x, %w, %b : tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %3 = kiln.gelu %2 : tensor<4x16xf32>
  return %1, %2, %3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
