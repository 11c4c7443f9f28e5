// RUN: kiln-opt %s -split-input-file -kiln-raise-quantized-linear | FileCheck %s

// ONNX Runtime's quantize_dynamic MatMul as the importer writes it, with a
// per-tensor weight scale (broadcast to the 3 columns) and the bias Add:
// one kiln.qlinear on the activation before quantization.
// CHECK-LABEL: func.func @per_tensor
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x2xf32>
// CHECK-DAG: %[[W:.*]] = kiln.constant dense<{{\[\[}}1, -2, 3], [4, 5, -6]]> : tensor<2x3xi8>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<5.000000e-01> : tensor<3xf32>
// CHECK: %[[Y:.*]] = kiln.qlinear %[[X]], %[[W]], %[[S]], %[[B]] {quant = "tensor_u8"} : tensor<?x?x2xf32>, tensor<2x3xi8>, tensor<3xf32>, tensor<3xf32> -> tensor<?x?x3xf32>
// CHECK-NEXT: return %[[Y]]
func.func @per_tensor(%x: tensor<?x?x2xf32>) -> tensor<?x?x3xf32> {
  %q, %s, %zp = kiln.dynamic_quantize %x : tensor<?x?x2xf32> -> tensor<?x?x2xui8>, tensor<f32>, tensor<ui8>
  %qi = kiln.cast %q : tensor<?x?x2xui8> -> tensor<?x?x2xi32>
  %zpi = kiln.cast %zp : tensor<ui8> -> tensor<i32>
  %a = kiln.sub %qi, %zpi : tensor<?x?x2xi32>, tensor<i32> -> tensor<?x?x2xi32>
  %w = kiln.constant dense<[[1, -2, 3], [4, 5, -6]]> : tensor<2x3xi8>
  %m = kiln.matmul %a, %w : tensor<?x?x2xi32>, tensor<2x3xi8> -> tensor<?x?x3xi32>
  %mf = kiln.cast %m : tensor<?x?x3xi32> -> tensor<?x?x3xf32>
  %ws = kiln.constant dense<0.5> : tensor<f32>
  %sc = kiln.mul %s, %ws : tensor<f32>, tensor<f32> -> tensor<f32>
  %y = kiln.mul %mf, %sc : tensor<?x?x3xf32>, tensor<f32> -> tensor<?x?x3xf32>
  %b = kiln.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %z = kiln.add %b, %y : tensor<3xf32>, tensor<?x?x3xf32> -> tensor<?x?x3xf32>
  return %z : tensor<?x?x3xf32>
}

// -----

// Per-column weight scales; the quantized activation also feeds a second
// reader, so the kiln.dynamic_quantize stays for it, expanded into Kiln's
// ops (reductions for the range, round, clip and casts).
// CHECK-LABEL: func.func @per_column_and_other_reader
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<[2.500000e-01, 5.000000e-01]> : tensor<2xf32>
// CHECK: kiln.reduce_min
// CHECK: kiln.reduce_max
// CHECK: kiln.round
// CHECK: kiln.clip
// CHECK: %[[Q:.*]] = kiln.cast %{{.*}} : tensor<4x2xf32> -> tensor<4x2xui8>
// CHECK: kiln.qlinear %{{.*}}, %{{.*}}, %[[S]] {quant = "tensor_u8"} : tensor<4x2xf32>, tensor<2x2xi8>, tensor<2xf32> -> tensor<4x2xf32>
// CHECK-NOT: kiln.dynamic_quantize
func.func @per_column_and_other_reader(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xui8>) {
  %q, %s, %zp = kiln.dynamic_quantize %x : tensor<4x2xf32> -> tensor<4x2xui8>, tensor<f32>, tensor<ui8>
  %qi = kiln.cast %q : tensor<4x2xui8> -> tensor<4x2xi32>
  %zpi = kiln.cast %zp : tensor<ui8> -> tensor<i32>
  %a = kiln.sub %qi, %zpi : tensor<4x2xi32>, tensor<i32> -> tensor<4x2xi32>
  %w = kiln.constant dense<[[1, -2], [4, 5]]> : tensor<2x2xi8>
  %m = kiln.matmul %a, %w : tensor<4x2xi32>, tensor<2x2xi8> -> tensor<4x2xi32>
  %mf = kiln.cast %m : tensor<4x2xi32> -> tensor<4x2xf32>
  %ws = kiln.constant dense<[0.25, 0.5]> : tensor<2xf32>
  %sc = kiln.mul %ws, %s : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
  %y = kiln.mul %sc, %mf : tensor<2xf32>, tensor<4x2xf32> -> tensor<4x2xf32>
  return %y, %q : tensor<4x2xf32>, tensor<4x2xui8>
}

// -----

// Must not fire: the zero point subtracted is not the quantizer's (a
// MatMulInteger without a_zero_point reads the raw uint8 values), and a
// weight that is not a constant.
// CHECK-LABEL: func.func @not_raised
// CHECK-NOT: kiln.qlinear
// CHECK: kiln.matmul
// CHECK: kiln.matmul
// CHECK-NOT: kiln.qlinear
func.func @not_raised(%x: tensor<4x2xf32>, %w2: tensor<2x2xi8>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %q, %s, %zp = kiln.dynamic_quantize %x : tensor<4x2xf32> -> tensor<4x2xui8>, tensor<f32>, tensor<ui8>
  %qi = kiln.cast %q : tensor<4x2xui8> -> tensor<4x2xi32>
  %c0 = kiln.constant dense<0> : tensor<i32>
  %a0 = kiln.sub %qi, %c0 : tensor<4x2xi32>, tensor<i32> -> tensor<4x2xi32>
  %w = kiln.constant dense<[[1, -2], [4, 5]]> : tensor<2x2xi8>
  %m0 = kiln.matmul %a0, %w : tensor<4x2xi32>, tensor<2x2xi8> -> tensor<4x2xi32>
  %mf0 = kiln.cast %m0 : tensor<4x2xi32> -> tensor<4x2xf32>
  %ws = kiln.constant dense<0.5> : tensor<f32>
  %sc = kiln.mul %s, %ws : tensor<f32>, tensor<f32> -> tensor<f32>
  %y0 = kiln.mul %mf0, %sc : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %zpi = kiln.cast %zp : tensor<ui8> -> tensor<i32>
  %a1 = kiln.sub %qi, %zpi : tensor<4x2xi32>, tensor<i32> -> tensor<4x2xi32>
  %m1 = kiln.matmul %a1, %w2 : tensor<4x2xi32>, tensor<2x2xi8> -> tensor<4x2xi32>
  %mf1 = kiln.cast %m1 : tensor<4x2xi32> -> tensor<4x2xf32>
  %sc1 = kiln.mul %s, %ws : tensor<f32>, tensor<f32> -> tensor<f32>
  %y1 = kiln.mul %mf1, %sc1 : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  return %y0, %y1 : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// quantize_static's QDQ format, int8 activation with zero point -3 and a
// per-column int8 weight with zero zero points, then the bias Add: one
// kiln.qlinear reading x before quantization, the activation as uint8 with
// zero point -3 + 128 = 125.
// CHECK-LABEL: func.func @qdq_s8_per_column
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x2xf32>
// CHECK-DAG: %[[W:.*]] = kiln.constant dense<{{\[\[}}1, -2, 3], [4, 5, -6]]> : tensor<2x3xi8>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<[2.500000e-01, 5.000000e-01, 1.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK: %[[Y:.*]] = kiln.qlinear %[[X]], %[[W]], %[[S]], %[[B]] {input_scale = 3.125000e-02 : f32, input_zero_point = 125 : i32, quant = "static_u8"}
// CHECK-NEXT: return %[[Y]]
func.func @qdq_s8_per_column(%x: tensor<?x?x2xf32>) -> tensor<?x?x3xf32> {
  %s = kiln.constant dense<0.03125> : tensor<f32>
  %zp = kiln.constant dense<-3> : tensor<i8>
  %d = kiln.div %x, %s : tensor<?x?x2xf32>, tensor<f32> -> tensor<?x?x2xf32>
  %r = kiln.round %d : tensor<?x?x2xf32>
  %zpf = kiln.cast %zp : tensor<i8> -> tensor<f32>
  %a = kiln.add %r, %zpf : tensor<?x?x2xf32>, tensor<f32> -> tensor<?x?x2xf32>
  %c = kiln.clip %a {max = 127.0 : f64, min = -128.0 : f64} : tensor<?x?x2xf32>
  %q = kiln.cast %c : tensor<?x?x2xf32> -> tensor<?x?x2xi8>
  %qf = kiln.cast %q : tensor<?x?x2xi8> -> tensor<?x?x2xf32>
  %zpf2 = kiln.cast %zp : tensor<i8> -> tensor<f32>
  %centered = kiln.sub %qf, %zpf2 : tensor<?x?x2xf32>, tensor<f32> -> tensor<?x?x2xf32>
  %xd = kiln.mul %centered, %s : tensor<?x?x2xf32>, tensor<f32> -> tensor<?x?x2xf32>
  %w = kiln.constant dense<[[1, -2, 3], [4, 5, -6]]> : tensor<2x3xi8>
  %wzp = kiln.constant dense<0> : tensor<3xi8>
  %ws = kiln.constant dense<[0.25, 0.5, 1.0]> : tensor<3xf32>
  %wf = kiln.cast %w : tensor<2x3xi8> -> tensor<2x3xf32>
  %wzpr = kiln.reshape %wzp {shape = affine_map<() -> (1, 3)>} : tensor<3xi8> -> tensor<1x3xi8>
  %wzpf = kiln.cast %wzpr : tensor<1x3xi8> -> tensor<1x3xf32>
  %wc = kiln.sub %wf, %wzpf : tensor<2x3xf32>, tensor<1x3xf32> -> tensor<2x3xf32>
  %wsr = kiln.reshape %ws {shape = affine_map<() -> (1, 3)>} : tensor<3xf32> -> tensor<1x3xf32>
  %wd = kiln.mul %wc, %wsr : tensor<2x3xf32>, tensor<1x3xf32> -> tensor<2x3xf32>
  %m = kiln.matmul %xd, %wd : tensor<?x?x2xf32>, tensor<2x3xf32> -> tensor<?x?x3xf32>
  %b = kiln.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %y = kiln.add %m, %b : tensor<?x?x3xf32>, tensor<3xf32> -> tensor<?x?x3xf32>
  return %y : tensor<?x?x3xf32>
}

// -----

// uint8 activation with zero point 7 read by two MatMuls (one QDQ pair,
// as quantize_static writes it for a shared input), each weight per tensor
// and without zero points: two kiln.qlinear, the pair gone.
// CHECK-LABEL: func.func @qdq_u8_shared
// CHECK-NOT: kiln.round
// CHECK: kiln.qlinear %{{.*}} {input_scale = 5.000000e-01 : f32, input_zero_point = 7 : i32, quant = "static_u8"} : tensor<4x2xf32>, tensor<2x2xi8>, tensor<2xf32> -> tensor<4x2xf32>
// CHECK: kiln.qlinear %{{.*}} {input_scale = 5.000000e-01 : f32, input_zero_point = 7 : i32, quant = "static_u8"}
// CHECK-NOT: kiln.matmul
func.func @qdq_u8_shared(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %zp = kiln.constant dense<7> : tensor<ui8>
  %d = kiln.div %x, %s : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %r = kiln.round %d : tensor<4x2xf32>
  %zpf = kiln.cast %zp : tensor<ui8> -> tensor<f32>
  %a = kiln.add %r, %zpf : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %c = kiln.clip %a {max = 255.0 : f64, min = 0.0 : f64} : tensor<4x2xf32>
  %q = kiln.cast %c : tensor<4x2xf32> -> tensor<4x2xui8>
  %qf = kiln.cast %q : tensor<4x2xui8> -> tensor<4x2xf32>
  %centered = kiln.sub %qf, %zpf : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %xd = kiln.mul %s, %centered : tensor<f32>, tensor<4x2xf32> -> tensor<4x2xf32>
  %w = kiln.constant dense<[[1, -2], [4, 5]]> : tensor<2x2xi8>
  %ws = kiln.constant dense<0.25> : tensor<f32>
  %wf = kiln.cast %w : tensor<2x2xi8> -> tensor<2x2xf32>
  %wd = kiln.mul %wf, %ws : tensor<2x2xf32>, tensor<f32> -> tensor<2x2xf32>
  %m0 = kiln.matmul %xd, %wd : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  %w1 = kiln.constant dense<[[3, 0], [-1, 2]]> : tensor<2x2xi8>
  %wf1 = kiln.cast %w1 : tensor<2x2xi8> -> tensor<2x2xf32>
  %wd1 = kiln.mul %wf1, %ws : tensor<2x2xf32>, tensor<f32> -> tensor<2x2xf32>
  %m1 = kiln.matmul %xd, %wd1 : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  return %m0, %m1 : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Must not fire, one MatMul each: a weight with a nonzero zero point (the
// kernel takes symmetric weights), a weight scaled along K (axis 0), a
// QuantizeLinear whose scale differs from the DequantizeLinear's, a uint8
// weight, and the product of two activations.
// CHECK-LABEL: func.func @qdq_not_raised
// CHECK-NOT: kiln.qlinear
// CHECK-COUNT-5: kiln.matmul
// CHECK-NOT: kiln.qlinear
func.func @qdq_not_raised(%x: tensor<4x2xf32>, %y: tensor<2x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %zp = kiln.constant dense<7> : tensor<ui8>
  %d = kiln.div %x, %s : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %r = kiln.round %d : tensor<4x2xf32>
  %zpf = kiln.cast %zp : tensor<ui8> -> tensor<f32>
  %a = kiln.add %r, %zpf : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %c = kiln.clip %a {max = 255.0 : f64, min = 0.0 : f64} : tensor<4x2xf32>
  %q = kiln.cast %c : tensor<4x2xf32> -> tensor<4x2xui8>
  %qf = kiln.cast %q : tensor<4x2xui8> -> tensor<4x2xf32>
  %centered = kiln.sub %qf, %zpf : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %xd = kiln.mul %centered, %s : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %w = kiln.constant dense<[[1, -2], [4, 5]]> : tensor<2x2xi8>
  %wf = kiln.cast %w : tensor<2x2xi8> -> tensor<2x2xf32>
  %ws = kiln.constant dense<0.25> : tensor<f32>
  // A nonzero weight zero point.
  %wzp = kiln.constant dense<1> : tensor<i8>
  %wzpf = kiln.cast %wzp : tensor<i8> -> tensor<f32>
  %wc = kiln.sub %wf, %wzpf : tensor<2x2xf32>, tensor<f32> -> tensor<2x2xf32>
  %wd0 = kiln.mul %wc, %ws : tensor<2x2xf32>, tensor<f32> -> tensor<2x2xf32>
  %m0 = kiln.matmul %xd, %wd0 : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  // Scales along K.
  %wsk = kiln.constant dense<[[0.25], [0.5]]> : tensor<2x1xf32>
  %wd1 = kiln.mul %wf, %wsk : tensor<2x2xf32>, tensor<2x1xf32> -> tensor<2x2xf32>
  %m1 = kiln.matmul %xd, %wd1 : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  // The dequantization's scale is not the quantization's.
  %s2 = kiln.constant dense<0.25> : tensor<f32>
  %xd2 = kiln.mul %centered, %s2 : tensor<4x2xf32>, tensor<f32> -> tensor<4x2xf32>
  %wd2 = kiln.mul %wf, %ws : tensor<2x2xf32>, tensor<f32> -> tensor<2x2xf32>
  %m2 = kiln.matmul %xd2, %wd2 : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  // A uint8 weight.
  %wu = kiln.constant dense<[[1, 2], [4, 5]]> : tensor<2x2xui8>
  %wuf = kiln.cast %wu : tensor<2x2xui8> -> tensor<2x2xf32>
  %wd3 = kiln.mul %wuf, %ws : tensor<2x2xf32>, tensor<f32> -> tensor<2x2xf32>
  %m3 = kiln.matmul %xd, %wd3 : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  // Two activations.
  %m4 = kiln.matmul %xd, %y : tensor<4x2xf32>, tensor<2x2xf32> -> tensor<4x2xf32>
  return %m0, %m1, %m2, %m3, %m4 : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// A Gemm with transB as quantize_static writes it: the [N, K] int8 weight
// scaled per row (axis 0, the importer's [N, 1] scale), transposed, and the
// int32 bias through DequantizeLinear (scale s_x * s_w per column). One
// kiln.qlinear with the weight transposed to [K, N] at compile time and the
// bias dequantized into a constant: (q - 0) * s = [4 * 0.5, -2 * 0.25].
// CHECK-LABEL: func.func @qdq_gemm_trans_b
// CHECK-DAG: %[[W:.*]] = kiln.constant dense<{{\[\[}}1, 3], [-2, 4], [5, -6]]> : tensor<3x2xi8>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<[2.500000e-01, 5.000000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<[2.000000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = kiln.qlinear %{{.*}}, %[[W]], %[[S]], %[[B]] {input_scale = 5.000000e-01 : f32, input_zero_point = 7 : i32, quant = "static_u8"} : tensor<4x3xf32>, tensor<3x2xi8>, tensor<2xf32>, tensor<2xf32> -> tensor<4x2xf32>
// CHECK-NEXT: return %[[Y]]
func.func @qdq_gemm_trans_b(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %zp = kiln.constant dense<7> : tensor<ui8>
  %d = kiln.div %x, %s : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %r = kiln.round %d : tensor<4x3xf32>
  %zpf = kiln.cast %zp : tensor<ui8> -> tensor<f32>
  %a = kiln.add %r, %zpf : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %c = kiln.clip %a {max = 255.0 : f64, min = 0.0 : f64} : tensor<4x3xf32>
  %q = kiln.cast %c : tensor<4x3xf32> -> tensor<4x3xui8>
  %qf = kiln.cast %q : tensor<4x3xui8> -> tensor<4x3xf32>
  %centered = kiln.sub %qf, %zpf : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %xd = kiln.mul %centered, %s : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %w = kiln.constant dense<[[1, -2, 5], [3, 4, -6]]> : tensor<2x3xi8>
  %ws = kiln.constant dense<[0.25, 0.5]> : tensor<2xf32>
  %wzp = kiln.constant dense<0> : tensor<2xi8>
  %wf = kiln.cast %w : tensor<2x3xi8> -> tensor<2x3xf32>
  %wzpr = kiln.reshape %wzp {shape = affine_map<() -> (2, 1)>} : tensor<2xi8> -> tensor<2x1xi8>
  %wzpf = kiln.cast %wzpr : tensor<2x1xi8> -> tensor<2x1xf32>
  %wc = kiln.sub %wf, %wzpf : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x3xf32>
  %wsr = kiln.reshape %ws {shape = affine_map<() -> (2, 1)>} : tensor<2xf32> -> tensor<2x1xf32>
  %wd = kiln.mul %wc, %wsr : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x3xf32>
  %wt = kiln.transpose %wd {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %m = kiln.matmul %xd, %wt : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32>
  %bq = kiln.constant dense<[4, -2]> : tensor<2xi32>
  %bzp = kiln.constant dense<0> : tensor<2xi32>
  %bs = kiln.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %bqf = kiln.cast %bq : tensor<2xi32> -> tensor<2xf32>
  %bzpf = kiln.cast %bzp : tensor<2xi32> -> tensor<2xf32>
  %bc = kiln.sub %bqf, %bzpf : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %b = kiln.mul %bc, %bs : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %y = kiln.add %m, %b : tensor<4x2xf32>, tensor<2xf32> -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// Must not fire on the transposed form: the [N, K] weight scaled along K
// (its columns, [1, K]). An int32 bias with a nonconstant zero point stays
// a kiln.add after a raised GEMM.
// CHECK-LABEL: func.func @qdq_gemm_not_raised
// CHECK-COUNT-1: kiln.matmul
// CHECK: kiln.qlinear
// CHECK-NOT: kiln.qlinear
// CHECK: kiln.add
func.func @qdq_gemm_not_raised(%x: tensor<4x3xf32>, %z: tensor<2xi32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %zp = kiln.constant dense<7> : tensor<ui8>
  %d = kiln.div %x, %s : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %r = kiln.round %d : tensor<4x3xf32>
  %zpf = kiln.cast %zp : tensor<ui8> -> tensor<f32>
  %a = kiln.add %r, %zpf : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %c = kiln.clip %a {max = 255.0 : f64, min = 0.0 : f64} : tensor<4x3xf32>
  %q = kiln.cast %c : tensor<4x3xf32> -> tensor<4x3xui8>
  %qf = kiln.cast %q : tensor<4x3xui8> -> tensor<4x3xf32>
  %centered = kiln.sub %qf, %zpf : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %xd = kiln.mul %centered, %s : tensor<4x3xf32>, tensor<f32> -> tensor<4x3xf32>
  %w = kiln.constant dense<[[1, -2, 5], [3, 4, -6]]> : tensor<2x3xi8>
  %wf = kiln.cast %w : tensor<2x3xi8> -> tensor<2x3xf32>
  // Scales along K of the [N, K] weight.
  %wsk = kiln.constant dense<[[0.25, 0.5, 1.0]]> : tensor<1x3xf32>
  %wd0 = kiln.mul %wf, %wsk : tensor<2x3xf32>, tensor<1x3xf32> -> tensor<2x3xf32>
  %wt0 = kiln.transpose %wd0 {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %m0 = kiln.matmul %xd, %wt0 : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32>
  // Raised, but its bias's zero point is not a constant.
  %ws = kiln.constant dense<[[0.25], [0.5]]> : tensor<2x1xf32>
  %wd1 = kiln.mul %wf, %ws : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x3xf32>
  %wt1 = kiln.transpose %wd1 {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %m1 = kiln.matmul %xd, %wt1 : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32>
  %bq = kiln.constant dense<[4, -2]> : tensor<2xi32>
  %bs = kiln.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %bqf = kiln.cast %bq : tensor<2xi32> -> tensor<2xf32>
  %zf = kiln.cast %z : tensor<2xi32> -> tensor<2xf32>
  %bc = kiln.sub %bqf, %zf : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %b = kiln.mul %bc, %bs : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %y = kiln.add %m1, %b : tensor<4x2xf32>, tensor<2xf32> -> tensor<4x2xf32>
  return %m0, %y : tensor<4x2xf32>, tensor<4x2xf32>
}
