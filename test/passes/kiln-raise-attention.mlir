// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-raise-attention))' | FileCheck %s

// GPT-2 prefill: one [B, S, H, D] projection read as q, k^T and v; the scale
// divides; causal hiding replaces scores through a slice of the
// lower-triangular `bias` table.
// CHECK-LABEL: @gpt2_causal_table
// CHECK-SAME: (%[[X:.*]]: tensor
// CHECK-DAG: %[[Q:.*]] = kiln.transpose %[[X]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK-DAG: %[[K:.*]] = kiln.transpose %[[X]] {perm = array<i64: 0, 2, 1, 3>}
// CHECK: %[[O:.*]] = kiln.attention %[[Q]], %[[K]], %[[Q]] {causal, scale = 2.500000e-01 : f32}
// CHECK-NOT: kiln.softmax
// CHECK-NOT: kiln.where
// CHECK: return %[[O]]
func.func @gpt2_causal_table(%x: tensor<?x?x4x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 4, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %q = kiln.transpose %x {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %kt = kiln.transpose %x {perm = array<i64: 0, 2, 3, 1>} : tensor<?x?x4x16xf32> -> tensor<?x4x16x?xf32>
  %s = kiln.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %c = kiln.constant dense<4.0> : tensor<f32>
  %d = kiln.div %s, %c : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %tril = kiln.constant dense<[[[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]]]> : tensor<1x1x4x4xi1>
  %rows = kiln.slice %tril {offsets = affine_map<()[s0, s1] -> (0, 0, 0, 0)>, sizes = affine_map<()[s0, s1] -> (1, 1, s1, 4)>, strides = array<i64: 1, 1, 1, 1>} : tensor<1x1x4x4xi1> -> tensor<1x1x?x4xi1>
  %m = kiln.slice %rows {offsets = affine_map<()[s0, s1] -> (0, 0, 0, 0)>, sizes = affine_map<()[s0, s1] -> (1, 1, s1, s1)>, strides = array<i64: 1, 1, 1, 1>} : tensor<1x1x?x4xi1> -> tensor<1x1x?x?xi1>
  %big = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %w = kiln.where %m, %d, %big : tensor<1x1x?x?xi1>, tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %w {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %q : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// GPT-2 decode: keys and values are concat(past, new); the table's rows
// start at `past` = Sk - Sq.
// CHECK-LABEL: @gpt2_decode_kv_cache
// CHECK: %[[K:.*]] = kiln.concat
// CHECK: %[[V:.*]] = kiln.concat
// CHECK: kiln.attention %{{.*}}, %[[K]], %[[V]] {causal, scale = 2.500000e-01 : f32}
// CHECK-NOT: kiln.softmax
func.func @gpt2_decode_kv_cache(%x: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, 16)>},
                                %pk: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s2, 16)>},
                                %pv: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s2, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq", "past"]} {
  %k = kiln.concat %pk, %x {axis = 2 : i64} : (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  %v = kiln.concat %pv, %x {axis = 2 : i64} : (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
  %s = kiln.matmul %x, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %c = kiln.constant dense<4.0> : tensor<f32>
  %d = kiln.div %s, %c : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %tril = kiln.constant dense<[[[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]]]> : tensor<1x1x4x4xi1>
  %rows = kiln.slice %tril {offsets = affine_map<()[s0, s1, s2] -> (0, 0, s2, 0)>, sizes = affine_map<()[s0, s1, s2] -> (1, 1, s1, 4)>, strides = array<i64: 1, 1, 1, 1>} : tensor<1x1x4x4xi1> -> tensor<1x1x?x4xi1>
  %m = kiln.slice %rows {offsets = affine_map<()[s0, s1, s2] -> (0, 0, 0, 0)>, sizes = affine_map<()[s0, s1, s2] -> (1, 1, s1, s1 + s2)>, strides = array<i64: 1, 1, 1, 1>} : tensor<1x1x?x4xi1> -> tensor<1x1x?x?xi1>
  %big = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %w = kiln.where %m, %d, %big : tensor<1x1x?x?xi1>, tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %w {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// BERT: an additive padding mask [B, 1, 1, S] stays an operand.
// CHECK-LABEL: @bert_padding_mask
// CHECK-SAME: (%[[Q:[^:]*]]: tensor{{.*}}, %[[K:[^:]*]]: tensor{{.*}}, %[[V:[^:]*]]: tensor{{.*}}, %[[M:[^:]*]]: tensor
// CHECK: %[[O:.*]] = kiln.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 1.250000e-01 : f32}
// CHECK-NEXT: return %[[O]]
func.func @bert_padding_mask(%q: tensor<?x12x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 12, s1, 64)>},
                             %k: tensor<?x12x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 12, s1, 64)>},
                             %v: tensor<?x12x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 12, s1, 64)>},
                             %mask: tensor<?x1x1x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 1, 1, s1)>}) -> tensor<?x12x?x64xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x12x?x64xf32> -> tensor<?x12x64x?xf32>
  %s = kiln.matmul %q, %kt : tensor<?x12x?x64xf32>, tensor<?x12x64x?xf32> -> tensor<?x12x?x?xf32>
  %c = kiln.constant dense<8.0> : tensor<f32>
  %d = kiln.div %s, %c : tensor<?x12x?x?xf32>, tensor<f32> -> tensor<?x12x?x?xf32>
  %a = kiln.add %d, %mask : tensor<?x12x?x?xf32>, tensor<?x1x1x?xf32> -> tensor<?x12x?x?xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<?x12x?x?xf32>
  %o = kiln.matmul %p, %v : tensor<?x12x?x?xf32>, tensor<?x12x?x64xf32> -> tensor<?x12x?x64xf32>
  return %o : tensor<?x12x?x64xf32>
}

// Llama: keys and values repeated from 2 to 4 heads (GQA), the scale
// multiplies, causal hiding is an additive where(k <= q, 0, -big) over
// position ranges.
// CHECK-LABEL: @llama_gqa_causal_ranges
// CHECK-SAME: (%[[Q:[^:]*]]: tensor{{.*}}, %[[K:[^:]*]]: tensor{{.*}}, %[[V:[^:]*]]: tensor
// CHECK: %[[O:.*]] = kiln.attention %[[Q]], %[[K]], %[[V]] {causal, scale = 1.250000e-01 : f32} : tensor<?x4x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32> -> tensor<?x4x?x64xf32>
// CHECK-NEXT: return %[[O]]
func.func @llama_gqa_causal_ranges(%q: tensor<?x4x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 64)>},
                                   %k: tensor<?x2x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 2, s1, 64)>},
                                   %v: tensor<?x2x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 2, s1, 64)>}) -> tensor<?x4x?x64xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %pos = kiln.range {size = affine_map<()[s0, s1] -> (s1)>, start = affine_map<()[s0, s1] -> (0)>, step = 1 : i64} : tensor<?xi64>
  %row = kiln.reshape %pos {shape = affine_map<()[s0, s1] -> (1, 1, s1, 1)>} : tensor<?xi64> -> tensor<1x1x?x1xi64>
  %col = kiln.reshape %pos {shape = affine_map<()[s0, s1] -> (1, 1, 1, s1)>} : tensor<?xi64> -> tensor<1x1x1x?xi64>
  %vis = kiln.less_equal %col, %row : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %visb = kiln.expand %vis {shape = affine_map<()[s0, s1] -> (s0, 1, s1, s1)>} : tensor<1x1x?x?xi1> -> tensor<?x1x?x?xi1>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %big = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %mask = kiln.where %visb, %zero, %big : tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x?x?xf32>
  %k5 = kiln.reshape %k {shape = affine_map<()[s0, s1] -> (s0, 2, 1, s1, 64)>} : tensor<?x2x?x64xf32> -> tensor<?x2x1x?x64xf32>
  %ke = kiln.expand %k5 {shape = affine_map<()[s0, s1] -> (s0, 2, 2, s1, 64)>} : tensor<?x2x1x?x64xf32> -> tensor<?x2x2x?x64xf32>
  %kr = kiln.reshape %ke {shape = affine_map<()[s0, s1] -> (s0, 4, s1, 64)>} : tensor<?x2x2x?x64xf32> -> tensor<?x4x?x64xf32>
  %v5 = kiln.reshape %v {shape = affine_map<()[s0, s1] -> (s0, 2, 1, s1, 64)>} : tensor<?x2x?x64xf32> -> tensor<?x2x1x?x64xf32>
  %ve = kiln.expand %v5 {shape = affine_map<()[s0, s1] -> (s0, 2, 2, s1, 64)>} : tensor<?x2x1x?x64xf32> -> tensor<?x2x2x?x64xf32>
  %vr = kiln.reshape %ve {shape = affine_map<()[s0, s1] -> (s0, 4, s1, 64)>} : tensor<?x2x2x?x64xf32> -> tensor<?x4x?x64xf32>
  %kt = kiln.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x64xf32> -> tensor<?x4x64x?xf32>
  %s = kiln.matmul %q, %kt : tensor<?x4x?x64xf32>, tensor<?x4x64x?xf32> -> tensor<?x4x?x?xf32>
  %c = kiln.constant dense<0.125> : tensor<f32>
  %d = kiln.mul %s, %c : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %a = kiln.add %d, %mask : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %vr : tensor<?x4x?x?xf32>, tensor<?x4x?x64xf32> -> tensor<?x4x?x64xf32>
  return %o : tensor<?x4x?x64xf32>
}

// The tiny Llama fixture's form: where(k < q + 1, 0, fill(-big)) on [S, S].
// CHECK-LABEL: @llama_causal_less_fill
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 2.500000e-01 : f32}
// CHECK-NOT: kiln.softmax
func.func @llama_causal_less_fill(%q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                                  %k: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %fill = kiln.fill -3.40282347E+38 : f32 {shape = affine_map<()[s0, s1] -> (s1, s1)>} : tensor<?x?xf32>
  %pos = kiln.range {size = affine_map<()[s0, s1] -> (s1)>, start = affine_map<()[s0, s1] -> (0)>, step = 1 : i64} : tensor<?xi64>
  %one = kiln.constant dense<1> : tensor<i64>
  %next = kiln.add %pos, %one : tensor<?xi64>, tensor<i64> -> tensor<?xi64>
  %row = kiln.reshape %next {shape = affine_map<()[s0, s1] -> (s1, 1)>} : tensor<?xi64> -> tensor<?x1xi64>
  %vis = kiln.less %pos, %row : tensor<?xi64>, tensor<?x1xi64> -> tensor<?x?xi1>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %m2 = kiln.where %vis, %zero, %fill : tensor<?x?xi1>, tensor<f32>, tensor<?x?xf32> -> tensor<?x?xf32>
  %mask = kiln.reshape %m2 {shape = affine_map<()[s0, s1] -> (1, 1, s1, s1)>} : tensor<?x?xf32> -> tensor<1x1x?x?xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
  %s = kiln.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %c = kiln.constant dense<4.0> : tensor<f32>
  %d = kiln.div %s, %c : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %a = kiln.add %d, %mask : tensor<?x4x?x?xf32>, tensor<1x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// GPT-2 decode as the standard-size export writes it: queries sit at
// range(seq) + past (shape arithmetic), keys at range(seq + past).
// CHECK-LABEL: @gpt2_decode_causal_ranges
// CHECK: %[[O:.*]] = kiln.attention %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}} {causal, scale = 1.250000e-01 : f32}
// CHECK-NEXT: return %[[O]]
func.func @gpt2_decode_causal_ranges(%q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, 16)>},
                                     %k: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1 + s2, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq", "past"]} {
  %new = kiln.range {size = affine_map<()[s0, s1, s2] -> (s1)>, start = affine_map<()[s0, s1, s2] -> (0)>, step = 1 : i64} : tensor<?xi64>
  %past1 = kiln.symbolic_values affine_map<()[s0, s1, s2] -> (s2)> : tensor<1xi64>
  %past = kiln.reshape %past1 {shape = affine_map<()[s0, s1, s2] -> ()>} : tensor<1xi64> -> tensor<i64>
  %qpos = kiln.add %new, %past : tensor<?xi64>, tensor<i64> -> tensor<?xi64>
  %row = kiln.reshape %qpos {shape = affine_map<()[s0, s1, s2] -> (1, 1, s1, 1)>} : tensor<?xi64> -> tensor<1x1x?x1xi64>
  %kpos = kiln.range {size = affine_map<()[s0, s1, s2] -> (s1 + s2)>, start = affine_map<()[s0, s1, s2] -> (0)>, step = 1 : i64} : tensor<?xi64>
  %col = kiln.reshape %kpos {shape = affine_map<()[s0, s1, s2] -> (1, 1, 1, s1 + s2)>} : tensor<?xi64> -> tensor<1x1x1x?xi64>
  %vis = kiln.less_equal %col, %row : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %big = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %mask = kiln.where %vis, %zero, %big : tensor<1x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<1x1x?x?xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
  %s = kiln.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %c = kiln.constant dense<0.125> : tensor<f32>
  %d = kiln.mul %s, %c : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %a = kiln.add %d, %mask : tensor<?x4x?x?xf32>, tensor<1x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// Query positions that ignore the past do not hide j > i + Sk - Sq: the
// mask stays an additive operand and `causal` is not set.
// CHECK-LABEL: @positions_without_past_stay_a_mask
// CHECK: kiln.attention %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^ ]*}} {scale = 1.250000e-01 : f32}
func.func @positions_without_past_stay_a_mask(%q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, 16)>},
                                              %k: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1 + s2, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq", "past"]} {
  %new = kiln.range {size = affine_map<()[s0, s1, s2] -> (s1)>, start = affine_map<()[s0, s1, s2] -> (0)>, step = 1 : i64} : tensor<?xi64>
  %row = kiln.reshape %new {shape = affine_map<()[s0, s1, s2] -> (1, 1, s1, 1)>} : tensor<?xi64> -> tensor<1x1x?x1xi64>
  %kpos = kiln.range {size = affine_map<()[s0, s1, s2] -> (s1 + s2)>, start = affine_map<()[s0, s1, s2] -> (0)>, step = 1 : i64} : tensor<?xi64>
  %col = kiln.reshape %kpos {shape = affine_map<()[s0, s1, s2] -> (1, 1, 1, s1 + s2)>} : tensor<?xi64> -> tensor<1x1x1x?xi64>
  %vis = kiln.less_equal %col, %row : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %big = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %mask = kiln.where %vis, %zero, %big : tensor<1x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<1x1x?x?xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
  %s = kiln.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %c = kiln.constant dense<0.125> : tensor<f32>
  %d = kiln.mul %s, %c : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %a = kiln.add %d, %mask : tensor<?x4x?x?xf32>, tensor<1x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// SDPA exports split the scale as sqrt on q and on k^T.
// CHECK-LABEL: @sdpa_split_scale
// CHECK-SAME: (%[[Q:[^:]*]]: tensor{{.*}}, %[[K:[^:]*]]: tensor
// CHECK: %[[O:.*]] = kiln.attention %[[Q]], %[[K]], %[[K]] {scale = 0.12499{{[0-9]+}} : f32}
// CHECK-NEXT: return %[[O]]
func.func @sdpa_split_scale(%q: tensor<1x2x8x64xf32>, %k: tensor<1x2x8x64xf32>) -> tensor<1x2x8x64xf32>
    attributes {kiln.symbols = []} {
  %c = kiln.constant dense<0.353553385> : tensor<1xf32>
  %qs = kiln.mul %q, %c : tensor<1x2x8x64xf32>, tensor<1xf32> -> tensor<1x2x8x64xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x8x64xf32> -> tensor<1x2x64x8xf32>
  %ks = kiln.mul %kt, %c : tensor<1x2x64x8xf32>, tensor<1xf32> -> tensor<1x2x64x8xf32>
  %s = kiln.matmul %qs, %ks : tensor<1x2x8x64xf32>, tensor<1x2x64x8xf32> -> tensor<1x2x8x8xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x2x8x8xf32>
  %o = kiln.matmul %p, %k : tensor<1x2x8x8xf32>, tensor<1x2x8x64xf32> -> tensor<1x2x8x64xf32>
  return %o : tensor<1x2x8x64xf32>
}

// Optimum's SDPA export computes that factor in the graph,
// sqrt(1 / sqrt(head_dim)), and transposes the scaled keys^T back: the
// factors fold into the scale (in f32: 0.353553385^2), and the keys are the
// past-and-new concat itself, which the CPU lowering then appends in place
// of a copy of the whole cache.
// CHECK-LABEL: @sdpa_computed_scale_decode
// CHECK-SAME: (%[[Q:[^:]*]]: tensor{{.*}}, %[[PAST:[^:]*]]: tensor{{.*}}, %[[NEW:[^:]*]]: tensor
// CHECK: %[[K:.*]] = kiln.concat %[[PAST]], %[[NEW]]
// CHECK-NOT: kiln.mul
// CHECK-NOT: kiln.sqrt
// CHECK: %[[O:.*]] = kiln.attention %[[Q]], %[[K]], %[[K]] {scale = 0.12499{{[0-9]+}} : f32}
// CHECK-NEXT: return %[[O]]
func.func @sdpa_computed_scale_decode(%q: tensor<1x2x1x64xf32>, %past: tensor<1x2x7x64xf32>, %new: tensor<1x2x1x64xf32>) -> tensor<1x2x1x64xf32>
    attributes {kiln.symbols = []} {
  %k = kiln.concat %past, %new {axis = 2 : i64} : (tensor<1x2x7x64xf32>, tensor<1x2x1x64xf32>) -> tensor<1x2x8x64xf32>
  %one = kiln.constant dense<1.0> : tensor<1xf32>
  %d = kiln.constant dense<64.0> : tensor<1xf32>
  %sd = kiln.sqrt %d : tensor<1xf32>
  %inv = kiln.div %one, %sd : tensor<1xf32>, tensor<1xf32> -> tensor<1xf32>
  %c = kiln.sqrt %inv : tensor<1xf32>
  %qs = kiln.mul %q, %c : tensor<1x2x1x64xf32>, tensor<1xf32> -> tensor<1x2x1x64xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x8x64xf32> -> tensor<1x2x64x8xf32>
  %c2 = kiln.sqrt %inv : tensor<1xf32>
  %ks = kiln.mul %kt, %c2 : tensor<1x2x64x8xf32>, tensor<1xf32> -> tensor<1x2x64x8xf32>
  %s = kiln.matmul %qs, %ks : tensor<1x2x1x64xf32>, tensor<1x2x64x8xf32> -> tensor<1x2x1x8xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x2x1x8xf32>
  %o = kiln.matmul %p, %k : tensor<1x2x1x8xf32>, tensor<1x2x8x64xf32> -> tensor<1x2x1x64xf32>
  return %o : tensor<1x2x1x64xf32>
}

// We don't raise a softmax over the queries.
// CHECK-LABEL: @softmax_not_over_keys
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @softmax_not_over_keys(%q: tensor<1x2x8x64xf32>, %k: tensor<1x2x8x64xf32>) -> tensor<1x2x8x64xf32>
    attributes {kiln.symbols = []} {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x8x64xf32> -> tensor<1x2x64x8xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x8x64xf32>, tensor<1x2x64x8xf32> -> tensor<1x2x8x8xf32>
  %p = kiln.softmax %s {axis = 2 : i64} : tensor<1x2x8x8xf32>
  %o = kiln.matmul %p, %k : tensor<1x2x8x8xf32>, tensor<1x2x8x64xf32> -> tensor<1x2x8x64xf32>
  return %o : tensor<1x2x8x64xf32>
}

// We don't raise when the scale is not a constant.
// CHECK-LABEL: @scale_not_constant
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @scale_not_constant(%q: tensor<1x2x8x64xf32>, %k: tensor<1x2x8x64xf32>, %c: tensor<f32>) -> tensor<1x2x8x64xf32>
    attributes {kiln.symbols = []} {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x8x64xf32> -> tensor<1x2x64x8xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x8x64xf32>, tensor<1x2x64x8xf32> -> tensor<1x2x8x8xf32>
  %d = kiln.div %s, %c : tensor<1x2x8x8xf32>, tensor<f32> -> tensor<1x2x8x8xf32>
  %p = kiln.softmax %d {axis = 3 : i64} : tensor<1x2x8x8xf32>
  %o = kiln.matmul %p, %k : tensor<1x2x8x8xf32>, tensor<1x2x8x64xf32> -> tensor<1x2x8x64xf32>
  return %o : tensor<1x2x8x64xf32>
}

// A factor computed from an argument stays on the query.
// CHECK-LABEL: @scale_computed_from_an_argument
// CHECK: %[[R:.*]] = kiln.sqrt
// CHECK: %[[QS:.*]] = kiln.mul %{{.*}}, %[[R]]
// CHECK: kiln.attention %[[QS]], {{.*}} {scale = 1.000000e+00 : f32}
func.func @scale_computed_from_an_argument(%q: tensor<1x2x8x64xf32>, %k: tensor<1x2x8x64xf32>, %c: tensor<1xf32>) -> tensor<1x2x8x64xf32>
    attributes {kiln.symbols = []} {
  %r = kiln.sqrt %c : tensor<1xf32>
  %qs = kiln.mul %q, %r : tensor<1x2x8x64xf32>, tensor<1xf32> -> tensor<1x2x8x64xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x8x64xf32> -> tensor<1x2x64x8xf32>
  %s = kiln.matmul %qs, %kt : tensor<1x2x8x64xf32>, tensor<1x2x64x8xf32> -> tensor<1x2x8x8xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x2x8x8xf32>
  %o = kiln.matmul %p, %k : tensor<1x2x8x8xf32>, tensor<1x2x8x64xf32> -> tensor<1x2x8x64xf32>
  return %o : tensor<1x2x8x64xf32>
}

// We don't raise when the mask broadcasts one query's scores to four rows.
// CHECK-LABEL: @mask_grows_scores
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @mask_grows_scores(%q: tensor<1x2x1x64xf32>, %k: tensor<1x2x8x64xf32>, %mask: tensor<1x2x4x8xf32>) -> tensor<1x2x4x64xf32>
    attributes {kiln.symbols = []} {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x8x64xf32> -> tensor<1x2x64x8xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x1x64xf32>, tensor<1x2x64x8xf32> -> tensor<1x2x1x8xf32>
  %a = kiln.add %s, %mask : tensor<1x2x1x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<1x2x4x8xf32>
  %o = kiln.matmul %p, %k : tensor<1x2x4x8xf32>, tensor<1x2x8x64xf32> -> tensor<1x2x4x64xf32>
  return %o : tensor<1x2x4x64xf32>
}

// We don't raise when the scaled scores have another user.
// CHECK-LABEL: @scores_used_twice
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @scores_used_twice(%q: tensor<1x2x8x64xf32>, %k: tensor<1x2x8x64xf32>) -> (tensor<1x2x8x64xf32>, tensor<1x2x8x8xf32>)
    attributes {kiln.symbols = []} {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x8x64xf32> -> tensor<1x2x64x8xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x8x64xf32>, tensor<1x2x64x8xf32> -> tensor<1x2x8x8xf32>
  %c = kiln.constant dense<8.0> : tensor<f32>
  %d = kiln.div %s, %c : tensor<1x2x8x8xf32>, tensor<f32> -> tensor<1x2x8x8xf32>
  %p = kiln.softmax %d {axis = 3 : i64} : tensor<1x2x8x8xf32>
  %o = kiln.matmul %p, %k : tensor<1x2x8x8xf32>, tensor<1x2x8x64xf32> -> tensor<1x2x8x64xf32>
  return %o, %d : tensor<1x2x8x64xf32>, tensor<1x2x8x8xf32>
}

// A decode step whose causal table rows start at 0 rather than at
// past = Sk - Sq is not causal attention: it is raised with the table as
// an additive mask of its own, never with the causal flag.
// CHECK-LABEL: @causal_table_wrong_offset
// CHECK: %[[M:.*]] = kiln.slice
// CHECK: %[[A:.*]] = kiln.where %[[M]], %{{.*}}, %{{.*}} : tensor<1x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<1x1x?x?xf32>
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[A]] {scale = 1.000000e+00 : f32}
// CHECK-NOT: causal
// CHECK-NOT: kiln.softmax
func.func @causal_table_wrong_offset(%x: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, 16)>},
                                     %pk: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s2, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq", "past"]} {
  %k = kiln.concat %pk, %x {axis = 2 : i64} : (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) -> tensor<?x4x?x16xf32>
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
  %s = kiln.matmul %x, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %tril = kiln.constant dense<[[[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]]]> : tensor<1x1x4x4xi1>
  %m = kiln.slice %tril {offsets = affine_map<()[s0, s1, s2] -> (0, 0, 0, 0)>, sizes = affine_map<()[s0, s1, s2] -> (1, 1, s1, s1 + s2)>, strides = array<i64: 1, 1, 1, 1>} : tensor<1x1x4x4xi1> -> tensor<1x1x?x?xi1>
  %big = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %w = kiln.where %m, %s, %big : tensor<1x1x?x?xi1>, tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %w {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// The dynamo exporter's SDPA decomposition: sqrt(scale) on q and on k^T,
// k^T through a reshape that merges batch and heads, an additive
// where(mask, 0, lowest) mask, and the NaN guard where(is_nan(p), 0, p)
// after the softmax. The mask is finite, so no row is NaN and the guard goes.
// CHECK-LABEL: @dynamo_sdpa(
// CHECK-SAME: %[[Q:[^:]*]]: tensor{{[^%]*}}%[[K:[^:]*]]: tensor{{[^%]*}}%[[V:[^:]*]]: tensor
// CHECK: %[[M:.*]] = kiln.where
// CHECK: %[[O:.*]] = kiln.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 2.500000e-01 : f32}
// CHECK-NOT: kiln.is_nan
// CHECK-NOT: kiln.softmax
// CHECK: return %[[O]]
func.func @dynamo_sdpa(%q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                       %k: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                       %v: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                       %allowed: tensor<?x1x?x?xi1> {kiln.dims = affine_map<()[s0, s1] -> (s0, 1, s1, s1)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %k3 = kiln.reshape %k {shape = affine_map<()[s0, s1] -> (s0 * 4, s1, 16)>} : tensor<?x4x?x16xf32> -> tensor<?x?x16xf32>
  %kt3 = kiln.transpose %k3 {perm = array<i64: 0, 2, 1>} : tensor<?x?x16xf32> -> tensor<?x16x?xf32>
  %kt = kiln.reshape %kt3 {shape = affine_map<()[s0, s1] -> (s0, 4, 16, s1)>} : tensor<?x16x?xf32> -> tensor<?x4x16x?xf32>
  %half = kiln.constant dense<5.000000e-01> : tensor<f32>
  %qs = kiln.mul %q, %half : tensor<?x4x?x16xf32>, tensor<f32> -> tensor<?x4x?x16xf32>
  %ks = kiln.mul %kt, %half : tensor<?x4x16x?xf32>, tensor<f32> -> tensor<?x4x16x?xf32>
  %zero = kiln.constant dense<0.000000e+00> : tensor<f32>
  %lowest = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %m = kiln.where %allowed, %zero, %lowest : tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x?x?xf32>
  %s = kiln.matmul %qs, %ks : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %a = kiln.add %s, %m : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %nan = kiln.is_nan %p : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xi1>
  %g = kiln.where %nan, %zero, %p : tensor<?x4x?x?xi1>, tensor<f32>, tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = kiln.matmul %g, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// The same with grouped-query heads: keys and values repeated (reshape,
// expand) before the merging reshape are read unrepeated.
// CHECK-LABEL: @dynamo_sdpa_gqa(
// CHECK-SAME: %[[Q:[^:]*]]: tensor{{[^%]*}}%[[K:[^:]*]]: tensor{{[^%]*}}%[[V:[^:]*]]: tensor
// CHECK: kiln.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32} : tensor<?x4x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x4x?x16xf32>
func.func @dynamo_sdpa_gqa(%q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                           %k: tensor<?x2x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 2, s1, 16)>},
                           %v: tensor<?x2x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 2, s1, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %k5 = kiln.reshape %k {shape = affine_map<()[s0, s1] -> (s0, 2, 1, s1, 16)>} : tensor<?x2x?x16xf32> -> tensor<?x2x1x?x16xf32>
  %ke = kiln.expand %k5 {shape = affine_map<()[s0, s1] -> (s0, 2, 2, s1, 16)>} : tensor<?x2x1x?x16xf32> -> tensor<?x2x2x?x16xf32>
  %k3 = kiln.reshape %ke {shape = affine_map<()[s0, s1] -> (s0 * 4, s1, 16)>} : tensor<?x2x2x?x16xf32> -> tensor<?x?x16xf32>
  %kt3 = kiln.transpose %k3 {perm = array<i64: 0, 2, 1>} : tensor<?x?x16xf32> -> tensor<?x16x?xf32>
  %kt = kiln.reshape %kt3 {shape = affine_map<()[s0, s1] -> (s0, 4, 16, s1)>} : tensor<?x16x?xf32> -> tensor<?x4x16x?xf32>
  %v5 = kiln.reshape %v {shape = affine_map<()[s0, s1] -> (s0, 2, 1, s1, 16)>} : tensor<?x2x?x16xf32> -> tensor<?x2x1x?x16xf32>
  %ve = kiln.expand %v5 {shape = affine_map<()[s0, s1] -> (s0, 2, 2, s1, 16)>} : tensor<?x2x1x?x16xf32> -> tensor<?x2x2x?x16xf32>
  %vr = kiln.reshape %ve {shape = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>} : tensor<?x2x2x?x16xf32> -> tensor<?x4x?x16xf32>
  %half = kiln.constant dense<5.000000e-01> : tensor<f32>
  %qs = kiln.mul %q, %half : tensor<?x4x?x16xf32>, tensor<f32> -> tensor<?x4x?x16xf32>
  %ks = kiln.mul %kt, %half : tensor<?x4x16x?xf32>, tensor<f32> -> tensor<?x4x16x?xf32>
  %s = kiln.matmul %qs, %ks : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %zero = kiln.constant dense<0.000000e+00> : tensor<f32>
  %nan = kiln.is_nan %p : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xi1>
  %g = kiln.where %nan, %zero, %p : tensor<?x4x?x?xi1>, tensor<f32>, tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = kiln.matmul %g, %vr : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// Where a mask may hold -inf (here an input, as TorchScript's and Optimum's
// SDPA exports write where(mask, 0, -inf)) a row hidden everywhere is NaN
// after the softmax and the guard makes it zeros: the guard moves after the
// attention, whose row is NaN exactly then.
// CHECK-LABEL: @nan_guard_unknown_mask
// CHECK-NOT: kiln.softmax
// CHECK: %[[O:.*]] = kiln.attention
// CHECK: %[[N:.*]] = kiln.is_nan %[[O]]
// CHECK: %[[Z:.*]] = kiln.where %[[N]], %{{.*}}, %[[O]]
// CHECK: return %[[Z]]
func.func @nan_guard_unknown_mask(%q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                                  %kt: tensor<?x4x16x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, 16, s1)>},
                                  %v: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                                  %m: tensor<?x1x?x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 1, s1, s1)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %s = kiln.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %a = kiln.add %s, %m : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %zero = kiln.constant dense<0.000000e+00> : tensor<f32>
  %nan = kiln.is_nan %p : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xi1>
  %g = kiln.where %nan, %zero, %p : tensor<?x4x?x?xi1>, tensor<f32>, tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = kiln.matmul %g, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// DistilBERT's padding mask hides where the condition is true:
// where(mask == 0, -big, scores) becomes the additive where(hide, -big, 0).
// CHECK-LABEL: @where_hides_on_true
// CHECK: %[[A:.*]] = kiln.where %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x4x?x?xf32>
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[A]]
// CHECK-NOT: kiln.softmax
func.func @where_hides_on_true(%q: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                               %kt: tensor<?x4x16x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, 16, s1)>},
                               %v: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                               %hide: tensor<?x4x?x?xi1> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, s1)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %s = kiln.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %big = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %w = kiln.where %hide, %big, %s : tensor<?x4x?x?xi1>, tensor<f32>, tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = kiln.softmax %w {axis = 3 : i64} : tensor<?x4x?x?xf32>
  %o = kiln.matmul %p, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}
