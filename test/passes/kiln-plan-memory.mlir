// RUN: kiln-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(kiln-plan-memory))" | FileCheck %s

// Two buffers that are never live together share a slot; the one live
// beside them gets its own. A buffer's slot is free after the last op that
// uses it: the deallocation pipeline frees every buffer at the end of the
// block.
// CHECK-LABEL: func.func @static_slots
// CHECK: %[[ARENA:.*]] = memref.alloc(%c128) {alignment = 64 : i64, kiln.arena} : memref<?xi8>
// CHECK-NEXT: %[[A:.*]] = memref.view %[[ARENA]][%c0][] : memref<?xi8> to memref<16xf32>
// CHECK-NEXT: memref.view %[[ARENA]][%c64{{.*}}][] : memref<?xi8> to memref<4xf64>
// CHECK-NEXT: memref.copy %{{.*}}, %[[A]]
// CHECK-NEXT: memref.view %[[ARENA]][%c0][] : memref<?xi8> to memref<8x2xf32>
// CHECK: memref.dealloc %[[ARENA]] : memref<?xi8>
// CHECK-NEXT: return
func.func @static_slots(%arg: memref<16xf32>, %out: memref<4xf64>) {
  %a = memref.alloc() : memref<16xf32>
  %b = memref.alloc() : memref<4xf64>
  memref.copy %arg, %a : memref<16xf32> to memref<16xf32>
  %c = memref.alloc() : memref<8x2xf32>
  %cf = memref.collapse_shape %c [[0, 1]] : memref<8x2xf32> into memref<16xf32>
  memref.copy %arg, %cf : memref<16xf32> to memref<16xf32>
  memref.copy %b, %out : memref<4xf64> to memref<4xf64>
  memref.dealloc %a : memref<16xf32>
  memref.dealloc %c : memref<8x2xf32>
  memref.dealloc %b : memref<4xf64>
  return
}

// -----

// Sizes from the arguments' dims: computed at entry even where the body
// computes them later. The buffer of 768 floats and the [s x 3072] one share
// a slot; the f16 buffer lives beside the latter.
// CHECK-LABEL: func.func @dynamic_sizes
// CHECK: %[[S:.*]] = memref.dim
// CHECK: %[[S4:.*]] = arith.muli %[[S]], %{{.*}} : index
// CHECK: %[[BIG:.*]] = arith.muli %[[S4]], %c12288
// CHECK: %[[BIGR:.*]] = arith.andi
// CHECK: %[[SLOT0:.*]] = arith.maxui %[[BIGR]], %c3072
// CHECK: %[[HALF:.*]] = arith.muli %[[S]], %c1536
// CHECK: %[[HALFR:.*]] = arith.andi
// CHECK: %[[TOTAL:.*]] = arith.addi %[[SLOT0]], %[[HALFR]]
// CHECK: %[[ARENA:.*]] = memref.alloc(%[[TOTAL]])
// CHECK-NEXT: memref.view %[[ARENA]][%[[Z:.*]]][] : memref<?xi8> to memref<768xf32>
// CHECK: memref.view %[[ARENA]][%[[Z]]][%{{.*}}] : memref<?xi8> to memref<?x3072xf32>
// CHECK-NEXT: memref.view %[[ARENA]][%[[SLOT0]]][%{{.*}}] : memref<?xi8> to memref<?x768xf16>
// CHECK: memref.dealloc %[[ARENA]]
// CHECK-NOT: memref.dealloc
func.func @dynamic_sizes(%arg: memref<?x768xf32>, %f: f32, %h: f16) {
  %a = memref.alloc() : memref<768xf32>
  %c0 = arith.constant 0 : index
  memref.store %f, %a[%c0] : memref<768xf32>
  %s = memref.dim %arg, %c0 : memref<?x768xf32>
  %c4 = arith.constant 4 : index
  %s4 = arith.muli %s, %c4 : index
  %b = memref.alloc(%s4) : memref<?x3072xf32>
  %c = memref.alloc(%s) : memref<?x768xf16>
  memref.store %h, %c[%c0, %c0] : memref<?x768xf16>
  memref.store %f, %b[%c0, %c0] : memref<?x3072xf32>
  memref.dealloc %a : memref<768xf32>
  memref.dealloc %c : memref<?x768xf16>
  memref.dealloc %b : memref<?x3072xf32>
  return
}

// -----

// The deallocation pipeline frees a view's base buffer.
// CHECK-LABEL: func.func @dealloc_of_base
// CHECK: %[[ARENA:.*]] = memref.alloc(%c512)
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%c0][] : memref<?xi8> to memref<8x8xf32>
// CHECK: memref.subview %[[A]]
// CHECK-NOT: memref.dealloc %base_buffer
// CHECK: memref.dealloc %[[ARENA]]
func.func @dealloc_of_base(%arg: memref<8x8xf32>, %f: f32) {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<8x8xf32>
  %b = memref.alloc() : memref<64xf32>
  %sub = memref.subview %a[0, 0] [4, 8] [1, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[8, 1]>>
  memref.store %f, %sub[%c0, %c0] : memref<4x8xf32, strided<[8, 1]>>
  memref.store %f, %b[%c0] : memref<64xf32>
  %base, %off, %sz:2, %st:2 = memref.extract_strided_metadata %sub : memref<4x8xf32, strided<[8, 1]>> -> memref<f32>, index, index, index, index, index
  memref.dealloc %base : memref<f32>
  memref.dealloc %b : memref<64xf32>
  return
}

// -----

// A buffer inside a loop takes its slot for the whole loop, each iteration
// using it in turn; after the loop the slot serves the i1 mask (a byte per
// element), while the other buffer lives beside it.
// CHECK-LABEL: func.func @loop_and_mask
// CHECK: %[[ARENA:.*]] = memref.alloc(%c128{{.*}}) {alignment = 64 : i64, kiln.arena} : memref<?xi8>
// CHECK: scf.for
// CHECK-NEXT: memref.view %[[ARENA]][%[[Z:c0[_0-9]*]]][] : memref<?xi8> to memref<4xf32>
// CHECK: memref.view %[[ARENA]][%[[Z]]][] : memref<?xi8> to memref<8xi1>
// CHECK-NEXT: memref.view %[[ARENA]][%c64{{.*}}][] : memref<?xi8> to memref<8xf32>
// CHECK-NOT: memref.alloc
// CHECK: memref.dealloc %[[ARENA]]
// CHECK-NEXT: return
func.func @loop_and_mask(%n: index, %p: i1, %f: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %inner = memref.alloc() : memref<4xf32>
    memref.store %f, %inner[%c0] : memref<4xf32>
    memref.dealloc %inner : memref<4xf32>
  }
  %bits = memref.alloc() : memref<8xi1>
  %one = memref.alloc() : memref<8xf32>
  memref.store %p, %bits[%c0] : memref<8xi1>
  memref.store %f, %one[%c0] : memref<8xf32>
  memref.dealloc %bits : memref<8xi1>
  memref.dealloc %one : memref<8xf32>
  return
}

// -----

// Lifetimes end at the last use, followed through views and through
// memrefs that ops return: %a's last use is through its collapsed view, so
// %c takes its slot; %b, yielded by an scf.if and read after %c is
// allocated, keeps its own slot until then.
// CHECK-LABEL: func.func @last_use
// CHECK: %[[ARENA:.*]] = memref.alloc(%c128) {alignment = 64 : i64, kiln.arena} : memref<?xi8>
// CHECK-NEXT: memref.view %[[ARENA]][%c0][] : memref<?xi8> to memref<4x4xf32>
// CHECK-NEXT: memref.view %[[ARENA]][%c64{{.*}}][] : memref<?xi8> to memref<16xf32>
// CHECK: scf.if
// CHECK: memref.view %[[ARENA]][%c0][] : memref<?xi8> to memref<16xf32>
func.func @last_use(%arg: memref<16xf32>, %out: memref<16xf32>, %p: i1) {
  %a = memref.alloc() : memref<4x4xf32>
  %b = memref.alloc() : memref<16xf32>
  %av = memref.collapse_shape %a [[0, 1]] : memref<4x4xf32> into memref<16xf32>
  memref.copy %arg, %av : memref<16xf32> to memref<16xf32>
  %sel = scf.if %p -> (memref<16xf32>) {
    scf.yield %b : memref<16xf32>
  } else {
    scf.yield %arg : memref<16xf32>
  }
  %c = memref.alloc() : memref<16xf32>
  memref.copy %arg, %c : memref<16xf32> to memref<16xf32>
  memref.copy %sel, %out : memref<16xf32> to memref<16xf32>
  memref.dealloc %a : memref<4x4xf32>
  memref.dealloc %b : memref<16xf32>
  memref.dealloc %c : memref<16xf32>
  return
}

// -----

// Not planned: a buffer that escapes, one inside a parallel loop (whose
// iterations overlap), one whose size is read from memory and one with a
// larger alignment. The one plain buffer still gets an arena of its own.
// CHECK-LABEL: func.func @not_planned
// CHECK-COUNT-1: kiln.arena
// CHECK-NOT: kiln.arena
// CHECK: memref.alloc() : memref<4xf32>
// CHECK: scf.parallel
// CHECK-NEXT: memref.alloc() : memref<4xf32>
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK-NEXT: memref.alloc() {alignment = 128 : i64} : memref<8xf32>
// CHECK-NEXT: memref.view
func.func @not_planned(%arg: memref<?xindex>, %n: index) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %escapes = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %inner = memref.alloc() : memref<4xf32>
    memref.dealloc %inner : memref<4xf32>
    scf.reduce
  }
  %loaded = memref.load %arg[%c0] : memref<?xindex>
  %data = memref.alloc(%loaded) : memref<?xf32>
  %aligned = memref.alloc() {alignment = 128} : memref<8xf32>
  %one = memref.alloc() : memref<8xf32>
  memref.dealloc %data : memref<?xf32>
  memref.dealloc %aligned : memref<8xf32>
  memref.dealloc %one : memref<8xf32>
  return %escapes : memref<4xf32>
}


// -----

// A size taken from a view of another buffer is traced back to the dims it
// was made from (here the argument's dim 0 times 2), since at entry no
// buffer exists yet.
// CHECK-LABEL: func.func @size_from_view
// CHECK: %[[S:.*]] = memref.dim %arg0, %c0
// CHECK: %[[TWO_S:.*]] = arith.muli %[[S]], %c2
// CHECK: arith.muli %[[TWO_S]], %c128
// CHECK: memref.alloc(%{{.*}}) {alignment = 64 : i64, kiln.arena} : memref<?xi8>
// CHECK-NOT: memref.alloc
func.func @size_from_view(%arg: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %s = memref.dim %arg, %c0 : memref<?x64xf32>
  %s2 = arith.muli %s, %c2 : index
  %a = memref.alloc(%s2) : memref<?x32xf32>
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [%s, 2, 32] : memref<?x32xf32> into memref<?x2x32xf32>
  %c = memref.collapse_shape %e [[0, 1], [2]] : memref<?x2x32xf32> into memref<?x32xf32>
  %n = memref.dim %c, %c0 : memref<?x32xf32>
  %b = memref.alloc(%n) : memref<?x32xf32>
  memref.dealloc %b : memref<?x32xf32>
  memref.dealloc %a : memref<?x32xf32>
  return
}
