// RUN: kiln-opt %s -split-input-file -kiln-quantize -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-quantize=mode=int8-weight | FileCheck %s --check-prefix=WEIGHT
// RUN: kiln-opt %s -split-input-file -kiln-quantize=exclude=lm_head,matmul | FileCheck %s --check-prefix=EXCLUDE
// RUN: kiln-opt %s -split-input-file -kiln-quantize -kiln-lower-to-linalg=qlinear-kernel=1 | FileCheck %s --check-prefix=LOWERED
// RUN: not kiln-opt %s -split-input-file -kiln-quantize=mode=int4 2>&1 | FileCheck %s --check-prefix=BADMODE

// BADMODE: kiln-quantize: mode must be int8-dynamic or int8-weight, got 'int4'

// A linear layer with bias and GELU. Per output column, scale = max |w| /
// 127 and q = round(w / scale), ties to even: column 0 of
// [[1, -2], [0.5, 0.25]] has scale 1/127 and q = [127, 64] (63.5 rounds to
// 64), column 1 scale 2/127 and q = [-127, 16] (15.875). The f32 weight is
// gone; bias and activation stay on the op.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<?x2xf32>
// CHECK-DAG: %[[Q:.*]] = kiln.constant dense_resource<weight_q8> : tensor<2x2xi8>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<[0.00787401571, 0.0157480314]> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<[2.500000e-01, -2.500000e-01]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = kiln.qlinear %[[X]], %[[Q]], %[[S]], %[[B]] {activation = "gelu"} : tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf32>, tensor<2xf32> -> tensor<?x2xf32>
// CHECK-NEXT: return %[[Y]]
// CHECK: dialect_resources
// CHECK: weight_q8: "0x400000007F814010"
// WEIGHT-LABEL: func.func @linear
// WEIGHT: kiln.qlinear {{.*}} {activation = "gelu", quant = "none"}
// EXCLUDE-LABEL: func.func @linear
// EXCLUDE: kiln.qlinear
// The runtime's int8 GEMM with the weight packed at compile time: K = 2
// padded to 4, one panel of 16 columns (64 bytes), then 16 int32 column
// sums (64 bytes).
// LOWERED-LABEL: func.func @linear
// LOWERED: %[[P:.*]] = arith.constant dense_resource<weight_q8_packed> : tensor<128xi8>
// LOWERED: bufferization.to_buffer %[[P]]
// LOWERED: call @kiln_rt_qlinear_s8_f32({{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32) -> ()
func.func @linear(%x: tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "x"})
    -> (tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "y"})
    attributes {kiln.symbols = ["seq"]} {
  %w = kiln.constant dense<[[1.0, -2.0], [0.5, 0.25]]> : tensor<2x2xf32>
  %b = kiln.constant dense<[0.25, -0.25]> : tensor<2xf32>
  %y = kiln.linear %x, %w, %b {activation = "gelu"} : tensor<?x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A matmul by a constant on a rank-3 input (the defaults, activation none
// and quant row, are not printed); a matmul of two activations
// (attention's q·k) and an f16 one stay. One weight read by two GEMMs is
// quantized once. Named "lm_head/MatMul", the first is excluded by
// exclude=lm_head; exclude=matmul keeps every kiln.matmul.
// CHECK-LABEL: func.func @matmuls
// CHECK-COUNT-1: kiln.constant dense_resource<weight_q8>
// CHECK: kiln.qlinear %{{.*}} : tensor<?x3x2xf32>, tensor<2x2xi8>, tensor<2xf32> -> tensor<?x3x2xf32>
// CHECK: kiln.qlinear %{{.*}} : tensor<?x3x2xf32>, tensor<2x2xi8>, tensor<2xf32> -> tensor<?x3x2xf32>
// CHECK: kiln.matmul %{{.*}} : tensor<?x3x2xf32>, tensor<?x2x3xf32> -> tensor<?x3x3xf32>
// CHECK: kiln.matmul %{{.*}} : tensor<3x2xf16>, tensor<2x2xf16> -> tensor<3x2xf32>
// EXCLUDE-LABEL: func.func @matmuls
// EXCLUDE-NOT: kiln.qlinear
// EXCLUDE: return
func.func @matmuls(%x: tensor<?x3x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 3, 2)>, kiln.name = "x"},
                   %t: tensor<?x2x3xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2, 3)>, kiln.name = "t"},
                   %h: tensor<3x2xf16> {kiln.dims = affine_map<()[s0] -> (3, 2)>, kiln.name = "h"})
    -> (tensor<?x3x2xf32>, tensor<?x3x2xf32>, tensor<?x3x3xf32>, tensor<3x2xf32>)
    attributes {kiln.symbols = ["b"]} {
  %w = kiln.constant dense<[[1.0, -2.0], [0.5, 0.25]]> : tensor<2x2xf32>
  %wh = kiln.constant dense<[[1.0, -2.0], [0.5, 0.25]]> : tensor<2x2xf16>
  %y = kiln.matmul %x, %w : tensor<?x3x2xf32>, tensor<2x2xf32> -> tensor<?x3x2xf32> loc("lm_head/MatMul")
  %z = kiln.matmul %x, %w : tensor<?x3x2xf32>, tensor<2x2xf32> -> tensor<?x3x2xf32>
  %s = kiln.matmul %x, %t : tensor<?x3x2xf32>, tensor<?x2x3xf32> -> tensor<?x3x3xf32>
  %r = kiln.matmul %h, %wh : tensor<3x2xf16>, tensor<2x2xf16> -> tensor<3x2xf32>
  return %y, %z, %s, %r : tensor<?x3x2xf32>, tensor<?x3x2xf32>, tensor<?x3x3xf32>, tensor<3x2xf32>
}

// -----

// A weight with a NaN stays f32, with a warning.
// CHECK-LABEL: func.func @nan_weight
// CHECK: kiln.linear
func.func @nan_weight(%x: tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "x"})
    -> (tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "y"})
    attributes {kiln.symbols = ["seq"]} {
  %w = kiln.constant dense<[[1.0, 0x7FC00000], [0.5, 0.25]]> : tensor<2x2xf32>
  // expected-warning @+1 {{kept in f32: the weight 'tensor<2x2xf32>' has a NaN or an infinity}}
  %y = kiln.linear %x, %w : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
