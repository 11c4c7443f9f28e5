// RUN: kiln-opt %s -kiln-expand-shape-to-reinterpret-cast | FileCheck %s
// RUN: kiln-opt %s -kiln-expand-shape-to-reinterpret-cast -expand-strided-metadata | FileCheck %s --check-prefix=LOWERED

// Two dynamic sizes in one group: the case upstream crashes on becomes a
// reinterpret_cast with strides [s * 64, 64, 1] and the source's offset.
// CHECK-LABEL: func.func @two_dynamic_in_group
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf32>, %[[B:.*]]: index, %[[S:.*]]: index)
// CHECK: %[[BASE:.*]], %[[OFF:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata %[[A]]
// CHECK: %[[ST:.*]] = arith.muli %[[S]], %c64
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [0], sizes: [%[[B]], %[[S]], 64], strides: [%[[ST]], 64, 1]
// CHECK-NOT: memref.expand_shape
// LOWERED-LABEL: func.func @two_dynamic_in_group
// LOWERED-NOT: memref.expand_shape
func.func @two_dynamic_in_group(%a: memref<?x64xf32>, %b: index, %s: index) -> memref<?x?x64xf32> {
  %r = memref.expand_shape %a [[0, 1], [2]] output_shape [%b, %s, 64] : memref<?x64xf32> into memref<?x?x64xf32>
  return %r : memref<?x?x64xf32>
}

// A strided source keeps its offset and inner stride.
// CHECK-LABEL: func.func @strided_source
// CHECK: %[[BASE:.*]], %[[OFF:.*]], %{{.*}}, %[[ST:.*]] = memref.extract_strided_metadata
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [%[[OFF]]], sizes: [%{{.*}}, %{{.*}}], strides: [%{{.*}}, %[[ST]]]
func.func @strided_source(%a: memref<?xf32, strided<[?], offset: ?>>, %b: index, %s: index) -> memref<?x?xf32, strided<[?, ?], offset: ?>> {
  %r = memref.expand_shape %a [[0, 1]] output_shape [%b, %s] : memref<?xf32, strided<[?], offset: ?>> into memref<?x?xf32, strided<[?, ?], offset: ?>>
  return %r : memref<?x?xf32, strided<[?, ?], offset: ?>>
}

// Must not fire: at most one dynamic size per group is upstream's to lower.
// CHECK-LABEL: func.func @one_dynamic_per_group
// CHECK: memref.expand_shape
func.func @one_dynamic_per_group(%a: memref<?x64xf32>, %s: index) -> memref<2x?x64xf32> {
  %r = memref.expand_shape %a [[0, 1], [2]] output_shape [2, %s, 64] : memref<?x64xf32> into memref<2x?x64xf32>
  return %r : memref<2x?x64xf32>
}
