// RUN: kiln-opt %s -split-input-file -kiln-quantize -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-quantize=mode=int8-weight | FileCheck %s --check-prefix=WEIGHT
// RUN: kiln-opt %s -split-input-file -kiln-quantize=exclude=lm_head,matmul | FileCheck %s --check-prefix=EXCLUDE
// RUN: kiln-opt %s -split-input-file -kiln-quantize -kiln-lower-to-linalg=qlinear-kernel=1 | FileCheck %s --check-prefix=LOWERED
// RUN: kiln-opt %s -split-input-file -kiln-quantize="mode=int4-weight group-size=8" | FileCheck %s --check-prefix=INT4
// RUN: kiln-opt %s -split-input-file -kiln-quantize="mode=int4-weight group-size=8" -kiln-lower-to-linalg=qlinear-kernel=1 | FileCheck %s --check-prefix=LOWERED4
// RUN: kiln-opt %s -split-input-file -kiln-quantize="mode=int4-weight group-size=32" -kiln-lower-to-linalg=qlinear-kernel=1 | FileCheck %s --check-prefix=ONEGROUP
// RUN: kiln-opt %s -split-input-file -kiln-quantize="mode=int4-dynamic group-size=8" | FileCheck %s --check-prefix=DYN4
// RUN: kiln-opt %s -split-input-file -kiln-quantize="mode=int4-dynamic group-size=8" -kiln-lower-to-linalg=qlinear-kernel=1 | FileCheck %s --check-prefix=LOWEREDDYN4
// RUN: kiln-opt %s -split-input-file -kiln-quantize="mode=int4-dynamic exclude=qlinear_int4" | FileCheck %s --check-prefix=DYN4EXCL
// RUN: kiln-opt %s -split-input-file -kiln-quantize="mode=int4-weight" | FileCheck %s --check-prefix=INT4KEEP
// RUN: not kiln-opt %s -split-input-file -kiln-quantize=mode=int4 2>&1 | FileCheck %s --check-prefix=BADMODE
// RUN: not kiln-opt %s -split-input-file -kiln-quantize="mode=int4-weight group-size=12" 2>&1 | FileCheck %s --check-prefix=BADGROUP

// BADMODE: kiln-quantize: mode must be int8-dynamic, int8-weight, int4-weight or int4-dynamic, got 'int4'
// BADGROUP: kiln-quantize: group-size must be a positive multiple of 8, got 12

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
// int4-weight with groups of 8: K = 2 is one short group, scale = e / -8
// per column for its value e of largest magnitude, q = round(w / scale):
// column 0 (e = 1) scale -0.125, q = [-8, -4]; column 1 (e = -2) scale
// 0.25, q = [-8, 1].
// INT4-LABEL: func.func @linear
// INT4-DAG: %[[Q:.*]] = kiln.constant dense_resource<weight_q4> : tensor<2x2xi8>
// INT4-DAG: %[[S:.*]] = kiln.constant dense<{{\[}}[-1.250000e-01, 2.500000e-01]]> : tensor<1x2xf32>
// INT4: kiln.qlinear_int4 %{{.*}}, %[[Q]], %[[S]] bias %{{.*}} {activation = "gelu", group_size = 8 : i64}
// INT4: weight_q4: "0x40000000F8F8FC01"
// int4-dynamic: the same weights, the activations quantized per row.
// DYN4-LABEL: func.func @linear
// DYN4-DAG: %[[Q:.*]] = kiln.constant dense_resource<weight_q4> : tensor<2x2xi8>
// DYN4: kiln.qlinear_int4 %{{.*}}, %[[Q]], %{{.*}} bias %{{.*}} {activation = "gelu", group_size = 8 : i64, quant = "row"}
// DYN4: weight_q4: "0x40000000F8F8FC01"
// LOWEREDDYN4-LABEL: func.func @linear
// LOWEREDDYN4: call @kiln_rt_qlinear_s4_q8_f32(
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
// INT4-LABEL: func.func @matmuls
// INT4-COUNT-2: kiln.qlinear_int4 %{{.*}} {group_size = 8 : i64} : tensor<?x3x2xf32>, tensor<2x2xi8>, tensor<1x2xf32> -> tensor<?x3x2xf32>
// INT4: kiln.matmul %{{.*}} : tensor<?x3x2xf32>, tensor<?x2x3xf32> -> tensor<?x3x3xf32>
// INT4: kiln.matmul %{{.*}} : tensor<3x2xf16>, tensor<2x2xf16> -> tensor<3x2xf32>
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
// INT4-LABEL: func.func @nan_weight
// INT4: kiln.linear
func.func @nan_weight(%x: tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "x"})
    -> (tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "y"})
    attributes {kiln.symbols = ["seq"]} {
  %w = kiln.constant dense<[[1.0, 0x7FC00000], [0.5, 0.25]]> : tensor<2x2xf32>
  // expected-warning @+1 {{kept in f32: the weight 'tensor<2x2xf32>' has a NaN or an infinity}}
  %y = kiln.linear %x, %w : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Groups along K: K = 10 in groups of 8 is a full group and a short one,
// each with its own scale per column. Column 0: group 0's largest value is
// 8, scale -1, q = [-8, 4, -1, 0, 0, 0, 0, 0] (-0.5 rounds to even); group
// 1 (e = 2) scale -0.25, q = [-8, 4]. Column 1: an all-zero group has
// scale 0 and q 0; group 1 (e = -1) scale 0.125, q = [-8, 2].
// INT4-LABEL: func.func @groups
// INT4-DAG: %[[Q:.*]] = kiln.constant dense_resource<weight_q4> : tensor<10x2xi8>
// INT4-DAG: %[[S:.*]] = kiln.constant dense<{{\[}}[-1.000000e+00, 0.000000e+00], [-2.500000e-01, 1.250000e-01]]> : tensor<2x2xf32>
// INT4: kiln.qlinear_int4 %{{.*}}, %[[Q]], %[[S]] {group_size = 8 : i64} : tensor<?x10xf32>, tensor<10x2xi8>, tensor<2x2xf32> -> tensor<?x2xf32>
// INT4: weight_q4: "0x40000000F8000400FF0000000000000000000000F8F80402"
// The runtime's int4 GEMM with the weight packed at compile time: one
// panel of 16 columns, two groups of 16 scales (64 bytes) and 8 rows x 16
// nibbles (64 bytes), u = q + 8: column 0 of group 0 is the word 0x888887C0.
// LOWERED4-LABEL: func.func @groups
// LOWERED4: %[[P:.*]] = arith.constant dense_resource<weight_q4_packed> : tensor<256xi8>
// LOWERED4: bufferization.to_buffer %[[P]]
// LOWERED4: call @kiln_rt_qlinear_s4_f32({{.*}}, %c0_i32, %c8_i32, %c0_i32{{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32, i32) -> ()
// LOWERED4: weight_q4_packed: "0x40000000000080BF{{0+}}C0878888
// A single group longer than K = 10 is packed as a group of 16 (K rounded
// up to 8): 64 bytes of scales and 16 rows x 16 nibbles, not 32 rows.
// ONEGROUP-LABEL: func.func @groups
// ONEGROUP: arith.constant dense_resource<weight_q4_packed> : tensor<192xi8>
// ONEGROUP: call @kiln_rt_qlinear_s4_f32({{.*}}, %c0_i32, %c16_i32, %c0_i32{{.*}})
func.func @groups(%x: tensor<?x10xf32> {kiln.dims = affine_map<()[s0] -> (s0, 10)>, kiln.name = "x"})
    -> (tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "y"})
    attributes {kiln.symbols = ["seq"]} {
  %w = kiln.constant dense<[[8.0, 0.0], [-4.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.5, 0.0], [2.0, -1.0], [-1.0, 0.25]]> : tensor<10x2xf32>
  %y = kiln.matmul %x, %w : tensor<?x10xf32>, tensor<10x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// An imported kiln.qlinear_int4 (ONNX Runtime's MatMulNBits) has no f32
// weight to quantize: int4-dynamic switches it to int8 activations, unless
// excluded by kind; int4-weight leaves it as it is.
// DYN4-LABEL: func.func @imported_int4
// DYN4: kiln.qlinear_int4 {{.*}} {group_size = 32 : i64, quant = "row"}
// DYN4EXCL-LABEL: func.func @imported_int4
// DYN4EXCL: kiln.qlinear_int4 {{.*}} {group_size = 32 : i64}
// DYN4EXCL-NOT: quant
// INT4KEEP-LABEL: func.func @imported_int4
// INT4KEEP: kiln.qlinear_int4 {{.*}} {group_size = 32 : i64}
// INT4KEEP-NOT: quant
func.func @imported_int4(%x: tensor<?x32xf32> {kiln.dims = affine_map<()[s0] -> (s0, 32)>, kiln.name = "x"})
    -> (tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "y"})
    attributes {kiln.symbols = ["seq"]} {
  %w = kiln.constant dense<3> : tensor<32x2xi8>
  %s = kiln.constant dense<0.5> : tensor<1x2xf32>
  %y = kiln.qlinear_int4 %x, %w, %s {group_size = 32 : i64} : tensor<?x32xf32>, tensor<32x2xi8>, tensor<1x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
