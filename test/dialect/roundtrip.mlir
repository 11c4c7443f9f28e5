// RUN: kiln-opt %s | kiln-opt --mlir-print-local-scope | FileCheck %s

// CHECK-LABEL: func.func @ops
func.func @ops(%x: tensor<?x?x64xf32>, %w: tensor<64x256xf32>, %ids: tensor<?x?xi64>,
               %tab: tensor<1000x64xf32>) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64x256xf32> -> tensor<?x?x256xf32>
  %0 = kiln.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x256xf32> -> tensor<?x?x256xf32>
  // CHECK: kiln.gelu %{{.*}} {approximate = "tanh"}
  %1 = kiln.gelu %0 {approximate = "tanh"} : tensor<?x?x256xf32>
  // CHECK: kiln.gather %{{.*}}[%{{.*}}] {axis = 0 : i64}
  %2 = kiln.gather %tab[%ids] {axis = 0 : i64} : tensor<1000x64xf32>, tensor<?x?xi64> -> tensor<?x?x64xf32>
  // CHECK: kiln.add
  %3 = kiln.add %2, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  // CHECK: kiln.reshape %{{.*}} {shape = affine_map<()[s0, s1] -> (s0, s1, 4, 16)>}
  %4 = kiln.reshape %3 {shape = affine_map<()[s0, s1] -> (s0, s1, 4, 16)>} : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  // CHECK: kiln.transpose %{{.*}} {perm = array<i64: 0, 2, 1, 3>}
  %5 = kiln.transpose %4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  // CHECK: kiln.softmax %{{.*}} {axis = 3 : i64}
  %6 = kiln.softmax %5 {axis = 3 : i64} : tensor<?x4x?x16xf32>
  return %6 : tensor<?x4x?x16xf32>
}

// CHECK-LABEL: func.func @attention
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.250000e-01 : f32} : tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x1x1x?xf32> -> tensor<?x8x?x64xf32>
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f32} :
func.func @attention(%q: tensor<?x8x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x64xf32>, %m: tensor<?x1x1x?xf32>) -> (tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>) {
  %0 = kiln.attention %q, %k, %v, %m {scale = 0.125 : f32, causal} : tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x1x1x?xf32> -> tensor<?x8x?x64xf32>
  %1 = kiln.attention %q, %k, %v {scale = 1.0 : f32} : tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32> -> tensor<?x8x?x64xf32>
  return %0, %1 : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK: kiln.linear %{{.*}}, %{{.*}}, %{{.*}} {activation = "gelu_tanh"} : tensor<?x?x64xf32>, tensor<64x256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
// CHECK: kiln.linear %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64x256xf32> -> tensor<?x?x256xf32>
func.func @linear(%x: tensor<?x?x64xf32>, %w: tensor<64x256xf32>, %b: tensor<256xf32>) -> (tensor<?x?x256xf32>, tensor<?x?x256xf32>) {
  %0 = kiln.linear %x, %w, %b {activation = "gelu_tanh"} : tensor<?x?x64xf32>, tensor<64x256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
  %1 = kiln.linear %x, %w : tensor<?x?x64xf32>, tensor<64x256xf32> -> tensor<?x?x256xf32>
  return %0, %1 : tensor<?x?x256xf32>, tensor<?x?x256xf32>
}

// int8 weights with per-column scales (kiln-quantize).
// CHECK-LABEL: func.func @qlinear
// CHECK: kiln.qlinear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {activation = "silu", quant = "tensor_u8"} : tensor<?x?x64xf32>, tensor<64x256xi8>, tensor<256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
// CHECK: kiln.qlinear %{{.*}}, %{{.*}}, %{{.*}} {quant = "none"} : tensor<?x?x64xf32>, tensor<64x256xi8>, tensor<256xf32> -> tensor<?x?x256xf32>
func.func @qlinear(%x: tensor<?x?x64xf32>, %w: tensor<64x256xi8>, %s: tensor<256xf32>, %b: tensor<256xf32>) -> (tensor<?x?x256xf32>, tensor<?x?x256xf32>) {
  %0 = kiln.qlinear %x, %w, %s, %b {activation = "silu", quant = "tensor_u8"} : tensor<?x?x64xf32>, tensor<64x256xi8>, tensor<256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
  %1 = kiln.qlinear %x, %w, %s {quant = "none"} : tensor<?x?x64xf32>, tensor<64x256xi8>, tensor<256xf32> -> tensor<?x?x256xf32>
  return %0, %1 : tensor<?x?x256xf32>, tensor<?x?x256xf32>
}

// 4-bit weights with scales per group of 32 along K (kiln-quantize
// int4-weight), and with zero points (ONNX Runtime's MatMulNBits); K = 80
// is not a multiple of the group: 3 groups.
// CHECK-LABEL: func.func @qlinear_int4
// CHECK: kiln.qlinear_int4 %{{.*}}, %{{.*}}, %{{.*}} bias %{{.*}} {activation = "gelu", group_size = 32 : i64} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
// CHECK: kiln.qlinear_int4 %{{.*}}, %{{.*}}, %{{.*}} zero_points %{{.*}} {group_size = 32 : i64} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<3x256xf32> -> tensor<?x?x256xf32>
// CHECK: kiln.qlinear_int4 %{{.*}}, %{{.*}}, %{{.*}} zero_points %{{.*}} bias %{{.*}} {group_size = 32 : i64} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<3x256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
// CHECK: kiln.qlinear_int4 %{{.*}}, %{{.*}}, %{{.*}} zero_points %{{.*}} {group_size = 32 : i64, quant = "row"} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<3x256xf32> -> tensor<?x?x256xf32>
func.func @qlinear_int4(%x: tensor<?x?x80xf32>, %w: tensor<80x256xi8>, %s: tensor<3x256xf32>, %zp: tensor<3x256xf32>, %b: tensor<256xf32>) -> (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>) {
  %0 = kiln.qlinear_int4 %x, %w, %s bias %b {activation = "gelu", group_size = 32 : i64} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
  %1 = kiln.qlinear_int4 %x, %w, %s zero_points %zp {group_size = 32 : i64} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<3x256xf32> -> tensor<?x?x256xf32>
  %2 = kiln.qlinear_int4 %x, %w, %s zero_points %zp bias %b {group_size = 32 : i64} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<3x256xf32>, tensor<256xf32> -> tensor<?x?x256xf32>
  %3 = kiln.qlinear_int4 %x, %w, %s zero_points %zp {group_size = 32 : i64, quant = "row"} : tensor<?x?x80xf32>, tensor<80x256xi8>, tensor<3x256xf32>, tensor<3x256xf32> -> tensor<?x?x256xf32>
  return %0, %1, %2, %3 : tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>
}

// f16/bf16 GEMM operands with an f32 (accumulated) result, as
// kiln-mixed-precision writes them.
// CHECK-LABEL: func.func @mixed_precision_gemms
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<?x64xf16>, tensor<64x256xf16> -> tensor<?x256xf32>
// CHECK: kiln.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<64x256xbf16>, tensor<256xf32> -> tensor<?x256xf32>
func.func @mixed_precision_gemms(%x: tensor<?x64xf16>, %w: tensor<64x256xf16>, %xb: tensor<?x64xbf16>, %wb: tensor<64x256xbf16>, %b: tensor<256xf32>) -> (tensor<?x256xf32>, tensor<?x256xf32>) {
  %0 = kiln.matmul %x, %w : tensor<?x64xf16>, tensor<64x256xf16> -> tensor<?x256xf32>
  %1 = kiln.linear %xb, %wb, %b : tensor<?x64xbf16>, tensor<64x256xbf16>, tensor<256xf32> -> tensor<?x256xf32>
  return %0, %1 : tensor<?x256xf32>, tensor<?x256xf32>
}

// int32 activations by int8 weights (MatMulInteger with symmetric weights):
// the int8 operand is sign-extended to the int32 result.
// CHECK-LABEL: func.func @integer_mixed_widths
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : tensor<?x64xi32>, tensor<64x256xi8> -> tensor<?x256xi32>
func.func @integer_mixed_widths(%x: tensor<?x64xi32>, %w: tensor<64x256xi8>) -> tensor<?x256xi32> {
  %0 = kiln.matmul %x, %w : tensor<?x64xi32>, tensor<64x256xi8> -> tensor<?x256xi32>
  return %0 : tensor<?x256xi32>
}

// The indexing, scan and float-class ops of today's exporters.
// CHECK-LABEL: func.func @indexing
// CHECK: kiln.gather_nd %{{.*}}[%{{.*}}] {batch_dims = 0 : i64} : tensor<?x?xi1>, tensor<?x1x?x?x2xi64> -> tensor<?x1x?x?xi1>
// CHECK: kiln.gather_elements %{{.*}}[%{{.*}}] {axis = 1 : i64} : tensor<?x?xf32>, tensor<?x?xi64> -> tensor<?x?xf32>
// CHECK: kiln.cumsum %{{.*}} {axis = 1 : i64, exclusive = false, reverse = true} : tensor<?x?xf32>
// CHECK: kiln.is_nan %{{.*}} : tensor<?x?xf32> -> tensor<?x?xi1>
// CHECK: kiln.is_inf %{{.*}} {detect_negative = true, detect_positive = false} : tensor<?x?xf32> -> tensor<?x?xi1>
func.func @indexing(%mask: tensor<?x?xi1>, %pairs: tensor<?x1x?x?x2xi64>,
                    %x: tensor<?x?xf32>, %idx: tensor<?x?xi64>)
    -> (tensor<?x1x?x?xi1>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xi1>, tensor<?x?xi1>) {
  %0 = kiln.gather_nd %mask[%pairs] {batch_dims = 0 : i64} : tensor<?x?xi1>, tensor<?x1x?x?x2xi64> -> tensor<?x1x?x?xi1>
  %1 = kiln.gather_elements %x[%idx] {axis = 1 : i64} : tensor<?x?xf32>, tensor<?x?xi64> -> tensor<?x?xf32>
  %2 = kiln.cumsum %x {axis = 1 : i64, exclusive = false, reverse = true} : tensor<?x?xf32>
  %3 = kiln.is_nan %x : tensor<?x?xf32> -> tensor<?x?xi1>
  %4 = kiln.is_inf %x {detect_negative = true, detect_positive = false} : tensor<?x?xf32> -> tensor<?x?xi1>
  return %0, %1, %2, %3, %4 : tensor<?x1x?x?xi1>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xi1>, tensor<?x?xi1>
}

// Selection along an axis.
// CHECK-LABEL: func.func @selection
// CHECK: kiln.arg_max %{{.*}} {axis = 1 : i64, keepdims = false, select_last_index = true} : tensor<?x10xf32> -> tensor<?xi64>
// CHECK: kiln.arg_min %{{.*}} {axis = 0 : i64, keepdims = true, select_last_index = false} : tensor<?x10xf32> -> tensor<1x10xi64>
// CHECK: kiln.top_k %{{.*}} {axis = 1 : i64, k = affine_map<() -> (3)>, largest = true} : tensor<?x10xf32> -> tensor<?x3xf32>, tensor<?x3xi64>
func.func @selection(%x: tensor<?x10xf32>)
    -> (tensor<?xi64>, tensor<1x10xi64>, tensor<?x3xf32>, tensor<?x3xi64>) {
  %0 = kiln.arg_max %x {axis = 1 : i64, keepdims = false, select_last_index = true} : tensor<?x10xf32> -> tensor<?xi64>
  %1 = kiln.arg_min %x {axis = 0 : i64, keepdims = true, select_last_index = false} : tensor<?x10xf32> -> tensor<1x10xi64>
  %2:2 = kiln.top_k %x {axis = 1 : i64, k = affine_map<() -> (3)>, largest = true} : tensor<?x10xf32> -> tensor<?x3xf32>, tensor<?x3xi64>
  return %0, %1, %2#0, %2#1 : tensor<?xi64>, tensor<1x10xi64>, tensor<?x3xf32>, tensor<?x3xi64>
}

// Scatters; reduction "none" is the default and not printed.
// CHECK-LABEL: func.func @scatter
// CHECK: kiln.scatter_nd %{{.*}}[%{{.*}}], %{{.*}} {reduction = "add"} : tensor<?x8xf32>, tensor<?x1xi64>, tensor<?x8xf32>
// CHECK: kiln.scatter_elements %{{.*}}[%{{.*}}], %{{.*}} {axis = 1 : i64} : tensor<?x8xf32>, tensor<?x2xi32>, tensor<?x2xf32>
func.func @scatter(%x: tensor<?x8xf32>, %i: tensor<?x1xi64>, %u: tensor<?x8xf32>,
                   %j: tensor<?x2xi32>, %v: tensor<?x2xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %0 = kiln.scatter_nd %x[%i], %u {reduction = "add"} : tensor<?x8xf32>, tensor<?x1xi64>, tensor<?x8xf32>
  %1 = kiln.scatter_elements %x[%j], %v {axis = 1 : i64, reduction = "none"} : tensor<?x8xf32>, tensor<?x2xi32>, tensor<?x2xf32>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// Einsum "bij,bjk->bik".
// CHECK-LABEL: func.func @einsum
// CHECK: kiln.einsum %{{.*}}, %{{.*}} {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>]} : (tensor<?x4x8xf32>, tensor<?x8x5xf32>) -> tensor<?x4x5xf32>
func.func @einsum(%a: tensor<?x4x8xf32>, %b: tensor<?x8x5xf32>) -> tensor<?x4x5xf32> {
  %0 = kiln.einsum %a, %b {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>]} : (tensor<?x4x8xf32>, tensor<?x8x5xf32>) -> tensor<?x4x5xf32>
  return %0 : tensor<?x4x5xf32>
}

// Pad with a pad value, and with symbolic pads.
// CHECK-LABEL: func.func @pad
// CHECK: kiln.pad %{{.*}}, %{{.*}} {mode = "constant", pads = affine_map<()[s0] -> (0, 1, 0, 2)>} : tensor<?x4xf32>, tensor<f32> -> tensor<?x7xf32>
// CHECK: kiln.pad %{{.*}} {mode = "reflect", pads = affine_map<()[s0] -> (0, 0, 0, s0)>} : tensor<?x4xf32> -> tensor<?x?xf32>
func.func @pad(%x: tensor<?x4xf32>, %v: tensor<f32>) -> (tensor<?x7xf32>, tensor<?x?xf32>) {
  %0 = kiln.pad %x, %v {mode = "constant", pads = affine_map<()[s0] -> (0, 1, 0, 2)>} : tensor<?x4xf32>, tensor<f32> -> tensor<?x7xf32>
  %1 = kiln.pad %x {mode = "reflect", pads = affine_map<()[s0] -> (0, 0, 0, s0)>} : tensor<?x4xf32> -> tensor<?x?xf32>
  return %0, %1 : tensor<?x7xf32>, tensor<?x?xf32>
}
