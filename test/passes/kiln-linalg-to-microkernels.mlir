// RUN: kiln-opt %s -kiln-linalg-to-microkernels -split-input-file | FileCheck %s
// RUN: kiln-opt %s -kiln-linalg-to-microkernels=panel-columns=16 -split-input-file | FileCheck %s --check-prefix=PANEL16
// RUN: not kiln-opt %s -kiln-linalg-to-microkernels=panel-columns=0 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD-PANEL
// BAD-PANEL: panel-columns must be positive, got 0

// A zeroed output and an f32 matmul become one call; the callee is declared
// once with the C interface and fully dynamic strided memrefs.
// CHECK: func.func private @kiln_rt_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @zero_fill_matmul
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf32>, %[[B:.*]]: memref<64x32xf32>, %[[C:.*]]: memref<?x32xf32>)
// CHECK-DAG: %[[CA:.*]] = memref.cast %[[A]] : memref<?x64xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[CB:.*]] = memref.cast %[[B]]
// CHECK-DAG: %[[CC:.*]] = memref.cast %[[C]]
// CHECK-NOT: linalg.fill
// CHECK: call @kiln_rt_matmul_f32(%[[CA]], %[[CB]], %[[CC]])
// CHECK-NOT: linalg.matmul
func.func @zero_fill_matmul(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x32xf32>)
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>)
  return
}

// -----

// The shape CSE and bufferization leave: one zeroed buffer copied into each
// output, and written in place by the last matmul. Both become calls and the
// dead copy goes.
// CHECK-LABEL: func.func @shared_zero_buffer
// CHECK: %[[Z:.*]] = memref.alloc
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[Z]]
// CHECK-NOT: memref.copy
// CHECK: call @kiln_rt_batch_matmul_f32
// CHECK: call @kiln_rt_batch_matmul_f32
// CHECK-NOT: linalg.batch_matmul
func.func @shared_zero_buffer(%a: memref<2x4x8xf32>, %b: memref<2x8x4xf32>, %out: memref<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %z = memref.alloc() : memref<2x4x4xf32>
  linalg.fill ins(%zero : f32) outs(%z : memref<2x4x4xf32>)
  %c = memref.alloc() : memref<2x4x4xf32>
  memref.copy %z, %c : memref<2x4x4xf32> to memref<2x4x4xf32>
  linalg.batch_matmul ins(%a, %b : memref<2x4x8xf32>, memref<2x8x4xf32>) outs(%c : memref<2x4x4xf32>)
  linalg.batch_matmul ins(%a, %b : memref<2x4x8xf32>, memref<2x8x4xf32>) outs(%z : memref<2x4x4xf32>)
  linalg.add ins(%c, %z : memref<2x4x4xf32>, memref<2x4x4xf32>) outs(%out : memref<2x4x4xf32>)
  return
}

// -----

// Must not fire: the output holds data (accumulation), the fill is not zero,
// the zero buffer is written between its fill and the copy, or the element
// type is not f32.
// CHECK-LABEL: func.func @accumulates
// CHECK-NOT: call
// CHECK: linalg.matmul
func.func @accumulates(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return
}

// CHECK-LABEL: func.func @nonzero_fill
// CHECK-NOT: call
// CHECK: linalg.matmul
func.func @nonzero_fill(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<4x4xf32>) {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%c : memref<4x4xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return
}

// CHECK-LABEL: func.func @zero_buffer_overwritten_first
// CHECK: memref.copy
// CHECK-NOT: call
// CHECK: linalg.matmul
func.func @zero_buffer_overwritten_first(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %x: memref<4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %z = memref.alloc() : memref<4x4xf32>
  linalg.fill ins(%zero : f32) outs(%z : memref<4x4xf32>)
  linalg.add ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%z : memref<4x4xf32>)
  %c = memref.alloc() : memref<4x4xf32>
  memref.copy %z, %c : memref<4x4xf32> to memref<4x4xf32>
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return
}

// CHECK-LABEL: func.func @integer
// CHECK-NOT: call
// CHECK: linalg.matmul
func.func @integer(%a: memref<4x8xi32>, %b: memref<8x4xi32>, %c: memref<4x4xi32>) {
  %zero = arith.constant 0 : i32
  linalg.fill ins(%zero : i32) outs(%c : memref<4x4xi32>)
  linalg.matmul ins(%a, %b : memref<4x8xi32>, memref<8x4xi32>) outs(%c : memref<4x4xi32>)
  return
}

// -----

// A constant [K, N] weight is packed at compile time into 32-column panels
// (here 1 panel of 3 rows = 96 values, zero-padded) and the original global
// goes; the packed blob holds row k at offset k * 32.
// CHECK-LABEL: memref.global "private" constant @w_packed : memref<96xf32> = dense_resource<w_packed> {alignment = 64 : i64}
// CHECK-NOT: memref.global "private" constant @w :
// CHECK-LABEL: func.func @packed_weight
// CHECK: %[[PW:.*]] = memref.get_global @w_packed : memref<96xf32>
// CHECK: %[[CPW:.*]] = memref.cast %[[PW]] : memref<96xf32> to memref<?xf32, strided<[?], offset: ?>>
// CHECK: call @kiln_rt_matmul_packed_f32(%{{.*}}, %[[CPW]], %{{.*}})
// Blob: alignment 64, then w[0, :] = -1, 0 and zero padding to 32, then
// w[1, :] = 3, 4.
// CHECK: w_packed: "0x40000000000080BF00000000{{(00000000)+}}0000404000008040{{(00000000)+}}0000A0400000C040{{(00000000)+}}"
// aarch64's 16-column panels (kilnc --target=cpu:aarch64): 3 rows of 16.
// PANEL16-LABEL: memref.global "private" constant @w_packed : memref<48xf32>
// PANEL16: w_packed: "0x40000000000080BF000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040400000804000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000A0400000C0400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
memref.global "private" constant @w : memref<3x2xf32> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
func.func @packed_weight(%a: memref<?x3xf32>, %c: memref<?x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w : memref<3x2xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<?x2xf32>)
  linalg.matmul ins(%a, %w : memref<?x3xf32>, memref<3x2xf32>) outs(%c : memref<?x2xf32>)
  return
}

// -----

// kiln.linear's epilogue generic after a packed matmul becomes the epilogue
// variant of the packed kernel, writing the generic's output; the generic
// and the matmul's own buffer go.
// CHECK: func.func private @kiln_rt_matmul_packed_epilogue_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @linear_epilogue
// CHECK-SAME: (%[[A:.*]]: memref<?x3xf32>, %[[OUT:.*]]: memref<?x2xf32>)
// CHECK-NOT: memref.alloc(
// CHECK-DAG: %[[B:.*]] = memref.get_global @b : memref<2xf32>
// CHECK-DAG: %[[ACT:.*]] = arith.constant 3 : i32
// CHECK-DAG: %[[CB:.*]] = memref.cast %[[B]]
// CHECK-DAG: %[[CO:.*]] = memref.cast %[[OUT]]
// CHECK: call @kiln_rt_matmul_packed_epilogue_f32(%{{.*}}, %{{.*}}, %[[CB]], %[[CO]], %[[ACT]])
// CHECK-NOT: linalg.generic
// CHECK: return
memref.global "private" constant @w : memref<3x2xf32> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
memref.global "private" constant @b : memref<2xf32> = dense<[1.0, 2.0]>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @linear_epilogue(%a: memref<?x3xf32>, %out: memref<?x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %m = memref.dim %a, %c0 : memref<?x3xf32>
  %c = memref.alloc(%m) : memref<?x2xf32>
  %w = memref.get_global @w : memref<3x2xf32>
  %b = memref.get_global @b : memref<2xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<?x2xf32>)
  linalg.matmul ins(%a, %w : memref<?x3xf32>, memref<3x2xf32>) outs(%c : memref<?x2xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<?x2xf32>, memref<2xf32>) outs(%out : memref<?x2xf32>)
      attrs = {kiln.epilogue = {activation = "gelu_tanh", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// In place and without a bias: an empty bias memref stands for none.
// CHECK-LABEL: func.func @linear_epilogue_in_place
// CHECK: %[[NOBIAS:.*]] = memref.alloca() : memref<0xf32>
// CHECK: %[[C:.*]] = memref.cast %[[NOBIAS]]
// CHECK: call @kiln_rt_matmul_packed_epilogue_f32(%{{.*}}, %{{.*}}, %[[C]], %{{.*}}, %{{.*}})
// CHECK-NOT: linalg.generic
memref.global "private" constant @w : memref<3x2xf32> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @linear_epilogue_in_place(%a: memref<?x3xf32>, %c: memref<?x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w : memref<3x2xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<?x2xf32>)
  linalg.matmul ins(%a, %w : memref<?x3xf32>, memref<3x2xf32>) outs(%c : memref<?x2xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<?x2xf32>) outs(%c : memref<?x2xf32>)
      attrs = {kiln.epilogue = {activation = "silu", bias = false}} {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// Must not fire: the matmul's result is read by something else before the
// epilogue (here a copy), or the attribute promises a bias the generic
// does not have (canonicalization folded a splat bias into the body).
// CHECK-LABEL: func.func @epilogue_not_absorbed
// CHECK: call @kiln_rt_matmul_packed_f32
// CHECK: memref.copy
// CHECK: linalg.generic
// CHECK: call @kiln_rt_matmul_packed_f32
// CHECK: linalg.generic
// CHECK-NOT: epilogue_f32
// CHECK: return
memref.global "private" constant @w : memref<3x2xf32> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @epilogue_not_absorbed(%a: memref<4x3xf32>, %out: memref<4x2xf32>, %copy: memref<4x2xf32>, %out2: memref<4x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %w = memref.get_global @w : memref<3x2xf32>
  %c = memref.alloc() : memref<4x2xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<4x2xf32>)
  linalg.matmul ins(%a, %w : memref<4x3xf32>, memref<3x2xf32>) outs(%c : memref<4x2xf32>)
  memref.copy %c, %copy : memref<4x2xf32> to memref<4x2xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<4x2xf32>) outs(%out : memref<4x2xf32>)
      attrs = {kiln.epilogue = {activation = "relu", bias = false}} {
  ^bb0(%x: f32, %o: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  }
  %d = memref.alloc() : memref<4x2xf32>
  linalg.fill ins(%zero : f32) outs(%d : memref<4x2xf32>)
  linalg.matmul ins(%a, %w : memref<4x3xf32>, memref<3x2xf32>) outs(%d : memref<4x2xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d : memref<4x2xf32>) outs(%out2 : memref<4x2xf32>)
      attrs = {kiln.epilogue = {activation = "none", bias = true}} {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %one : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// CSE's shared zero buffer: the first matmul zeroes its output by a copy
// from it, the last writes it in place after the fill. Both take their
// epilogues.
// CHECK-LABEL: func.func @epilogues_on_shared_zero_buffer
// CHECK-NOT: memref.copy
// CHECK: call @kiln_rt_matmul_packed_epilogue_f32
// CHECK: call @kiln_rt_matmul_packed_epilogue_f32
// CHECK-NOT: linalg.generic
memref.global "private" constant @w : memref<3x2xf32> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
memref.global "private" constant @b : memref<2xf32> = dense<[1.0, 2.0]>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @epilogues_on_shared_zero_buffer(%a: memref<4x3xf32>, %out1: memref<4x2xf32>, %out2: memref<4x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w : memref<3x2xf32>
  %b = memref.get_global @b : memref<2xf32>
  %z = memref.alloc() : memref<4x2xf32>
  linalg.fill ins(%zero : f32) outs(%z : memref<4x2xf32>)
  %c = memref.alloc() : memref<4x2xf32>
  memref.copy %z, %c : memref<4x2xf32> to memref<4x2xf32>
  linalg.matmul ins(%a, %w : memref<4x3xf32>, memref<3x2xf32>) outs(%c : memref<4x2xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<4x2xf32>, memref<2xf32>) outs(%out1 : memref<4x2xf32>)
      attrs = {kiln.epilogue = {activation = "relu", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  linalg.matmul ins(%a, %w : memref<4x3xf32>, memref<3x2xf32>) outs(%z : memref<4x2xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%z, %b : memref<4x2xf32>, memref<2xf32>) outs(%out2 : memref<4x2xf32>)
      attrs = {kiln.epilogue = {activation = "none", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// bf16 operands with an f32 result (kilnc --precision=bf16) and a constant
// bf16 weight: the weight is packed at compile time into the bf16 kernel's
// layout (runtime/src/kernels/Bf16Packing.h: panels of 16 columns, rows in
// pairs, K padded to 32; here 1 panel x 32 rows = 512 values) and the call
// takes bf16 a and packed weight, f32 c.
// CHECK: func.func private @kiln_rt_matmul_packed_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?xbf16, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: memref.global "private" constant @wb_packed : memref<512xbf16> = dense_resource<wb_packed> {alignment = 64 : i64}
// CHECK-NOT: memref.global "private" constant @wb :
// CHECK-LABEL: func.func @packed_bf16_weight
// CHECK-SAME: (%[[A:.*]]: memref<?x3xbf16>, %[[C:.*]]: memref<?x2xf32>)
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[PW:.*]] = memref.get_global @wb_packed : memref<512xbf16>
// CHECK-DAG: %[[CA:.*]] = memref.cast %[[A]] : memref<?x3xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[CPW:.*]] = memref.cast %[[PW]] : memref<512xbf16> to memref<?xbf16, strided<[?], offset: ?>>
// CHECK-DAG: %[[CC:.*]] = memref.cast %[[C]] : memref<?x2xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: call @kiln_rt_matmul_packed_bf16(%[[CA]], %[[CPW]], %[[CC]])
// CHECK-NOT: linalg.matmul
// Blob: alignment 64, then the pair (w[0, 0], w[1, 0]) = (-1, 3), the pair
// (w[0, 1], w[1, 1]) = (0, 4), zeros for columns 2-15, then the pair of
// rows 2 and 3 (padding): (5, 0), (6, 0).
// CHECK: wb_packed: "0x4000000080BF404000008040{{(0000)+}}A0400000C0400000{{(0000)+}}"
memref.global "private" constant @wb : memref<3x2xbf16> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
func.func @packed_bf16_weight(%a: memref<?x3xbf16>, %c: memref<?x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @wb : memref<3x2xbf16>
  linalg.fill ins(%zero : f32) outs(%c : memref<?x2xf32>)
  linalg.matmul ins(%a, %w : memref<?x3xbf16>, memref<3x2xbf16>) outs(%c : memref<?x2xf32>)
  return
}

// -----

// kiln.linear at bf16: the epilogue variant of the bf16 kernel writes the
// generic's output, with the bias and activation code of the f32 one.
// CHECK: func.func private @kiln_rt_matmul_packed_epilogue_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?xbf16, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @linear_epilogue_bf16
// CHECK-SAME: (%[[A:.*]]: memref<?x3xbf16>, %[[OUT:.*]]: memref<?x2xf32>)
// CHECK-NOT: memref.alloc(
// CHECK-DAG: %[[PW:.*]] = memref.get_global @wb_packed : memref<512xbf16>
// CHECK-DAG: %[[B:.*]] = memref.get_global @b : memref<2xf32>
// CHECK-DAG: %[[ACT:.*]] = arith.constant 2 : i32
// CHECK-DAG: %[[CB:.*]] = memref.cast %[[B]]
// CHECK-DAG: %[[CO:.*]] = memref.cast %[[OUT]]
// CHECK: call @kiln_rt_matmul_packed_epilogue_bf16(%{{.*}}, %{{.*}}, %[[CB]], %[[CO]], %[[ACT]])
// CHECK-NOT: linalg.generic
// CHECK: return
memref.global "private" constant @wb : memref<3x2xbf16> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
memref.global "private" constant @b : memref<2xf32> = dense<[1.0, 2.0]>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @linear_epilogue_bf16(%a: memref<?x3xbf16>, %out: memref<?x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %m = memref.dim %a, %c0 : memref<?x3xbf16>
  %c = memref.alloc(%m) : memref<?x2xf32>
  %w = memref.get_global @wb : memref<3x2xbf16>
  %b = memref.get_global @b : memref<2xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<?x2xf32>)
  linalg.matmul ins(%a, %w : memref<?x3xbf16>, memref<3x2xbf16>) outs(%c : memref<?x2xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<?x2xf32>, memref<2xf32>) outs(%out : memref<?x2xf32>)
      attrs = {kiln.epilogue = {activation = "gelu", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Must not fire: the bf16 kernel takes only a constant weight (here an
// argument), a bf16 x bf16 product with a bf16 result, f16 operands (no f16
// kernel on the cpu), mixed bf16 and f32 operands, or a batched bf16
// product; all stay loops, and no weight is packed.
// CHECK: memref.global "private" constant @wh
// CHECK-NOT: _packed
// CHECK-LABEL: func.func @bf16_not_packed
// CHECK-NOT: call
// CHECK-COUNT-5: linalg.{{(batch_)?}}matmul
// CHECK-NOT: call
// CHECK: return
// CHECK-NOT: _packed
memref.global "private" constant @wh : memref<3x2xf16> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
memref.global "private" constant @wb : memref<3x2xbf16> = dense<[[-1.0, 0.0], [3.0, 4.0], [5.0, 6.0]]>
func.func @bf16_not_packed(%a: memref<4x3xbf16>, %w: memref<3x2xbf16>, %ah: memref<4x3xf16>,
                           %af: memref<4x3xf32>, %ab: memref<2x4x3xbf16>, %wb3: memref<2x3x2xbf16>,
                           %c: memref<4x2xf32>, %cb: memref<4x2xbf16>, %c3: memref<2x4x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %zb = arith.constant 0.0 : bf16
  %wk = memref.get_global @wb : memref<3x2xbf16>
  %wh = memref.get_global @wh : memref<3x2xf16>
  linalg.fill ins(%zero : f32) outs(%c : memref<4x2xf32>)
  linalg.matmul ins(%a, %w : memref<4x3xbf16>, memref<3x2xbf16>) outs(%c : memref<4x2xf32>)
  linalg.fill ins(%zb : bf16) outs(%cb : memref<4x2xbf16>)
  linalg.matmul ins(%a, %wk : memref<4x3xbf16>, memref<3x2xbf16>) outs(%cb : memref<4x2xbf16>)
  linalg.fill ins(%zero : f32) outs(%c : memref<4x2xf32>)
  linalg.matmul ins(%ah, %wh : memref<4x3xf16>, memref<3x2xf16>) outs(%c : memref<4x2xf32>)
  linalg.fill ins(%zero : f32) outs(%c : memref<4x2xf32>)
  linalg.matmul ins(%af, %wk : memref<4x3xf32>, memref<3x2xbf16>) outs(%c : memref<4x2xf32>)
  linalg.fill ins(%zero : f32) outs(%c3 : memref<2x4x2xf32>)
  linalg.batch_matmul ins(%ab, %wb3 : memref<2x4x3xbf16>, memref<2x3x2xbf16>) outs(%c3 : memref<2x4x2xf32>)
  return
}
