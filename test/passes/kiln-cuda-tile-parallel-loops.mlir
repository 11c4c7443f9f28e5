// RUN: kiln-opt %s -kiln-cuda-tile-parallel-loops | FileCheck %s
// RUN: kiln-opt %s -kiln-cuda-tile-parallel-loops=block-size=128 | FileCheck %s --check-prefix=B128
// RUN: kiln-opt %s -kiln-cuda-tile-parallel-loops -gpu-map-parallel-loops | FileCheck %s --check-prefix=MAP

// The 2-d nest collapses to %n * 64 iterations, split into blocks of 256
// threads; the last block is guarded and each thread recovers (i, j).
// CHECK-LABEL: func.func @elementwise
// CHECK: %[[N:.*]] = memref.dim
// CHECK: %[[ROWS:.*]] = arith.muli %{{.*}}, %[[N]] : index
// CHECK: %[[TOTAL:.*]] = arith.muli %[[ROWS]], %{{.*}} : index
// CHECK: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[C256]] : index
// CHECK: scf.parallel (%[[BLOCK:.*]]) = (%{{.*}}) to (%[[TOTAL]]) step (%[[STEP]])
// CHECK-NEXT: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%[[STEP]]) step
// CHECK-NEXT: %[[L:.*]] = arith.addi %[[T]], %[[BLOCK]] : index
// CHECK: arith.cmpi ult, %{{.*}}, %[[TOTAL]] : index
// CHECK: scf.if
// CHECK-NEXT: %[[J:.*]] = arith.remsi %[[L]], %c64{{.*}} : index
// CHECK-NEXT: %[[I:.*]] = arith.divsi %[[L]], %c64{{.*}} : index
// CHECK-NEXT: memref.load %{{.*}}[%[[I]], %[[J]]]
// B128-LABEL: func.func @elementwise
// B128: arith.constant 128 : index
// MAP-LABEL: func.func @elementwise
// MAP: mapping = [#gpu.loop_dim_map<processor = thread_x
// MAP: mapping = [#gpu.loop_dim_map<processor = block_x
func.func @elementwise(%a: memref<?x64xf32>, %b: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %n = memref.dim %a, %c0 : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<?x64xf32>
    memref.store %x, %b[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  return
}

// A reduction keeps its sequential loop inside one thread: one row each.
// CHECK-LABEL: func.func @row_reduction
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step
// CHECK-NEXT: scf.parallel
// CHECK: scf.if
// CHECK-NEXT: scf.for
// CHECK-NOT: scf.parallel
func.func @row_reduction(%a: memref<?x64xf32>, %s: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %n = memref.dim %a, %c0 : memref<?x64xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %j = %c0 to %c64 step %c1 {
      %x = memref.load %a[%i, %j] : memref<?x64xf32>
      %acc = memref.load %s[%i] : memref<?xf32>
      %y = arith.addf %x, %acc : f32
      memref.store %y, %s[%i] : memref<?xf32>
    }
    scf.reduce
  }
  return
}

// A full reduction has no parallel dim: one thread runs the fill, the
// loop nest and the rank-0 copy, in one scf.parallel. A loop that only
// computes host values stays where it is.
// CHECK-LABEL: func.func @full_reduction
// CHECK-SAME: (%[[A:.*]]: memref<?xf32>, %[[S:.*]]: memref<f32>, %[[OUT:.*]]: memref<f32>, %[[N:.*]]: index)
// CHECK: arith.constant 0.0
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[O:.*]] = arith.constant 1 : index
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%[[Z]]) to (%[[O]]) step (%[[O]])
// CHECK-NEXT: memref.store %{{.*}}, %[[S]][]
// CHECK-NEXT: scf.for
// CHECK: }
// CHECK-NEXT: %[[T:.*]] = memref.load %[[S]][]
// CHECK-NEXT: memref.store %[[T]], %[[OUT]][]
// CHECK-NEXT: scf.reduce
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK-NOT: scf.parallel
func.func @full_reduction(%a: memref<?xf32>, %s: memref<f32>, %out: memref<f32>, %n: index) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  memref.store %zero, %s[] : memref<f32>
  scf.for %i = %c0 to %n step %c1 {
    %x = memref.load %a[%i] : memref<?xf32>
    %acc = memref.load %s[] : memref<f32>
    %y = arith.addf %x, %acc : f32
    memref.store %y, %s[] : memref<f32>
  }
  %total = memref.load %s[] : memref<f32>
  memref.store %total, %out[] : memref<f32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%k = %c0) -> index {
    %k1 = arith.addi %k, %i : index
    scf.yield %k1 : index
  }
  return %r : index
}

// A host value read from memory and used on the host cannot move into a
// kernel: it stays (and the CUDA pipeline reports it).
// CHECK-LABEL: func.func @escaping_load
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: memref.load
// CHECK-NOT: scf.parallel
func.func @escaping_load(%shape: memref<1xindex>) -> index {
  %c0 = arith.constant 0 : index
  %n = memref.load %shape[%c0] : memref<1xindex>
  return %n : index
}

// Declarations (the runtime's GEMM entry points) have no body to work on.
// CHECK-LABEL: func.func private @declaration
func.func private @declaration(memref<?xf32>)
