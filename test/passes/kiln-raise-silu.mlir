// RUN: kiln-opt %s -kiln-raise-silu | FileCheck %s
// RUN: kiln-opt %s -kiln-raise-silu -kiln-lower-to-linalg -kiln-fuse-elementwise | FileCheck %s --check-prefix=FUSED

// CHECK-LABEL: func.func @silu
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>
// CHECK-NEXT: %[[S:.*]] = kiln.silu %[[X]] : tensor<?x16xf32>
// CHECK-NEXT: return %[[S]]
func.func @silu(%x: tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "x"})
    -> (tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "y"})
    attributes {kiln.symbols = ["n"]} {
  %0 = kiln.sigmoid %x : tensor<?x16xf32>
  %1 = kiln.mul %0, %x : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  return %1 : tensor<?x16xf32>
}

// SwiGLU (Llama's MLP): silu(gate) * up. After lowering, the silu and the
// product are one loop nest.
// CHECK-LABEL: func.func @swiglu
// CHECK-SAME: (%[[G:.*]]: tensor<?x16xf32> {{.*}}, %[[U:.*]]: tensor<?x16xf32>
// CHECK-NEXT: %[[S:.*]] = kiln.silu %[[G]]
// CHECK-NEXT: %[[P:.*]] = kiln.mul %[[S]], %[[U]]
// CHECK-NEXT: return %[[P]]
// FUSED-LABEL: func.func @swiglu
// FUSED: linalg.generic
// FUSED-NOT: linalg.generic
// FUSED: math.exp
// FUSED: arith.mulf
// FUSED: arith.mulf
// FUSED: linalg.yield
// FUSED-NOT: linalg.generic
// FUSED: return
func.func @swiglu(%gate: tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "gate"},
                  %up: tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "up"})
    -> (tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "y"})
    attributes {kiln.symbols = ["n"]} {
  %0 = kiln.sigmoid %gate : tensor<?x16xf32>
  %1 = kiln.mul %gate, %0 : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  %2 = kiln.mul %1, %up : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  return %2 : tensor<?x16xf32>
}

// Must not fire: the sigmoid is also returned.
// CHECK-LABEL: func.func @sigmoid_used_twice
// CHECK-NOT: kiln.silu
// CHECK: kiln.sigmoid
func.func @sigmoid_used_twice(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %0 = kiln.sigmoid %x : tensor<16xf32>
  %1 = kiln.mul %x, %0 : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  return %1, %0 : tensor<16xf32>, tensor<16xf32>
}

// Must not fire: sigmoid of another tensor (a gated unit, not SiLU).
// CHECK-LABEL: func.func @sigmoid_of_other
// CHECK-NOT: kiln.silu
func.func @sigmoid_of_other(%x: tensor<16xf32>, %y: tensor<16xf32>) -> tensor<16xf32> {
  %0 = kiln.sigmoid %y : tensor<16xf32>
  %1 = kiln.mul %x, %0 : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  return %1 : tensor<16xf32>
}

// Must not fire: f16.
// CHECK-LABEL: func.func @not_f32
// CHECK-NOT: kiln.silu
func.func @not_f32(%x: tensor<16xf16>) -> tensor<16xf16> {
  %0 = kiln.sigmoid %x : tensor<16xf16>
  %1 = kiln.mul %x, %0 : tensor<16xf16>, tensor<16xf16> -> tensor<16xf16>
  return %1 : tensor<16xf16>
}
