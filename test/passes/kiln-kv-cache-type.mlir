// RUN: kiln-opt %s -kiln-kv-cache-type | FileCheck %s
// RUN: kiln-opt %s -kiln-kv-cache-type -kiln-lower-to-linalg='attention-kernel=cpu kv-cache-views=1' -canonicalize | FileCheck %s --check-prefix=CALL
// RUN: not kiln-opt %s -kiln-kv-cache-type='type=f16' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: kiln-opt %s -kiln-kv-cache-type='type=f8e4m3fn' -kiln-lower-to-linalg='attention-kernel=cpu kv-cache-views=1' -canonicalize | FileCheck %s --check-prefix=F8

// BAD: kiln-kv-cache-type: type 'f16' is not supported (bf16 and f8e4m3fn are)

// type=f8e4m3fn: the same with 8-bit floats, read and written by
// kiln_rt_attention_append_f8; where the f32 kernel stays, the casts lower
// as integer steps (LLVM has no such type): widening through i8 -> i32 bits,
// narrowing with its rounding and saturation (0x7e, 448) to an i8.
// F8-LABEL: func.func @decode(
// F8-SAME: memref<1x2x?x8xf8E4M3FN, strided<[?, ?, 8, 1]>> {{{.*}}kiln.name = "past_k"}
// F8: call @kiln_rt_attention_append_f8(
// F8-NOT: linalg.generic
// F8: return
// F8-LABEL: func.func @present_read_twice(
// F8: arith.bitcast %{{.*}} : f8E4M3FN to i8
// F8: call @kiln_rt_attention_append_f32
// F8: linalg.generic
// F8: arith.select %{{.*}}, %c126_i32
// F8: arith.bitcast %{{.*}} : i8 to f8E4M3FN
// F8: return

// A decode step's pasts become bf16 inputs and its presents bf16 outputs;
// the f32 values are casts of them.
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[PK:[a-z0-9]+]]: tensor<1x2x?x8xbf16> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_k"}
// CHECK-SAME: %[[NK:[a-z0-9]+]]: tensor<1x2x1x8xf32>
// CHECK-SAME: %[[PV:[a-z0-9]+]]: tensor<1x2x?x8xbf16>
// CHECK-SAME: -> (tensor<1x4x1x8xf32> {{.*}}, tensor<1x2x?x8xbf16> {{.*}}kiln.name = "present_k"}, tensor<1x2x?x8xbf16> {{.*}}kiln.name = "present_v"})
// CHECK-DAG: %[[WV:.*]] = kiln.cast %[[PV]] : tensor<1x2x?x8xbf16> -> tensor<1x2x?x8xf32>
// CHECK-DAG: %[[WK:.*]] = kiln.cast %[[PK]] : tensor<1x2x?x8xbf16> -> tensor<1x2x?x8xf32>
// CHECK: %[[K:.*]] = kiln.concat %[[WK]], %[[NK]] {axis = 2 : i64}
// CHECK: %[[V:.*]] = kiln.concat %[[WV]]
// CHECK: %[[O:.*]] = kiln.attention %{{.*}}, %[[K]], %[[V]]
// CHECK-DAG: %[[SK:.*]] = kiln.cast %[[K]] : tensor<1x2x?x8xf32> -> tensor<1x2x?x8xbf16>
// CHECK-DAG: %[[SV:.*]] = kiln.cast %[[V]] : tensor<1x2x?x8xf32> -> tensor<1x2x?x8xbf16>
// CHECK: return %[[O]], %[[SK]], %[[SV]]

// Lowered with the CPU attention kernel, one call reads the bf16 pasts and
// writes the bf16 presents, both views of the cache (kv-cache-views); no
// f32 concat or cast is left.
// CALL-LABEL: func.func @decode(
// CALL-SAME: %[[PK:[a-z0-9]+]]: memref<1x2x?x8xbf16, strided<[?, ?, 8, 1]>> {{{.*}}kiln.kv_cache = array<i64: 1, 2>, kiln.name = "past_k"}
// CALL-SAME: %[[PV:[a-z0-9]+]]: memref<1x2x?x8xbf16, strided<[?, ?, 8, 1]>> {{{.*}}kiln.kv_cache = array<i64: 2, 2>, kiln.name = "past_v"}
// CALL-SAME: %[[PRK:[a-z0-9]+]]: memref<1x2x?x8xbf16, strided<[?, ?, 8, 1]>> {{{.*}}kiln.name = "present_k", kiln.output}
// CALL-SAME: %[[PRV:[a-z0-9]+]]: memref<1x2x?x8xbf16, strided<[?, ?, 8, 1]>> {{{.*}}kiln.name = "present_v", kiln.output}
// CALL-DAG: %[[CPK:.*]] = memref.cast %[[PK]] : {{.*}} to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CALL-DAG: %[[CPV:.*]] = memref.cast %[[PV]] : {{.*}} to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CALL-DAG: %[[CK:.*]] = memref.cast %[[PRK]] : {{.*}} to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CALL-DAG: %[[CV:.*]] = memref.cast %[[PRV]] : {{.*}} to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CALL: call @kiln_rt_attention_append_bf16(%{{.*}}, %[[CPK]], %{{.*}}, %[[CPV]], %{{.*}}, %[[CK]], %[[CV]],
// CALL-NOT: linalg.generic
// CALL-NOT: materialize_in_destination
// CALL: return
func.func @decode(
    %q: tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "q"},
    %pk: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_k"},
    %nk: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "k"},
    %pv: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_v"},
    %nv: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "v"})
    -> (tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "o"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_k"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_v"})
    attributes {kiln.symbols = ["past"]} {
  %k = kiln.concat %pk, %nk {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %v = kiln.concat %pv, %nv {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %o = kiln.attention %q, %k, %v {scale = 0.5 : f32, causal} : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x4x1x8xf32>
  return %o, %k, %v : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
}

// A present that is also returned a second time (not a pair: f32) keeps
// the f32 kernel, which fills a fresh buffer; the bf16 output is its cast.
// CHECK-LABEL: func.func @present_read_twice(
// CHECK-SAME: -> (tensor<1x4x1x8xf32> {{.*}}, tensor<1x2x?x8xbf16> {{.*}}, tensor<1x2x?x8xf32> {{.*}}, tensor<1x2x?x8xbf16>
// CALL-LABEL: func.func @present_read_twice(
// CALL: call @kiln_rt_attention_append_f32
// CALL: linalg.generic
// CALL: arith.truncf %{{.*}} : f32 to bf16
// CALL: return
func.func @present_read_twice(
    %q: tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "q"},
    %pk: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_k"},
    %nk: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "k"},
    %pv: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_v"},
    %nv: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "v"})
    -> (tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "o"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_k"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_k_again"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_v"})
    attributes {kiln.symbols = ["past"]} {
  %k = kiln.concat %pk, %nk {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %v = kiln.concat %pv, %nv {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %o = kiln.attention %q, %k, %v {scale = 0.5 : f32, causal} : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x4x1x8xf32>
  return %o, %k, %k, %v : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
}

// A concat whose first part is not an input is no cache: nothing changes.
// CHECK-LABEL: func.func @not_a_cache(
// CHECK-SAME: %{{.*}}: tensor<1x2x?x8xf32>
// CHECK-NOT: kiln.cast
// CHECK: return
func.func @not_a_cache(
    %pk: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_k"},
    %nk: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "k"})
    -> (tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_k"})
    attributes {kiln.symbols = ["past"]} {
  %n = kiln.neg %pk : tensor<1x2x?x8xf32>
  %k = kiln.concat %n, %nk {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  return %k : tensor<1x2x?x8xf32>
}
