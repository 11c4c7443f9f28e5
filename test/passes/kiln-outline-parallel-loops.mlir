// RUN: kiln-opt %s -kiln-outline-parallel-loops | FileCheck %s

// A nest with symbolic bounds: the two outer loops are flattened into the
// range given to the pool, the innermost stays a whole loop per item, and the
// grain gives each chunk at least 16384 elements (here 16384 / 64 rows).
// CHECK-LABEL: func.func @rows
// CHECK-SAME: (%[[IN:[a-z0-9]+]]: memref<?x?x64xf32>, %[[OUT:[a-z0-9]+]]: memref<?x?x64xf32>, %[[B:[a-z0-9]+]]: index, %[[S:[a-z0-9]+]]: index)
// CHECK-NOT: scf.parallel
// CHECK: %[[TOTAL:.*]] = arith.muli %[[B]], %[[S]]
// CHECK: %[[GRAIN:.*]] = arith.ceildivsi %{{.*}}, %{{.*}}
// CHECK: call @__kiln_par_0(%{{.*}}, %[[TOTAL]], %[[GRAIN]], %[[IN]], %[[OUT]], %[[B]], %[[S]])
func.func @rows(%in: memref<?x?x64xf32>, %out: memref<?x?x64xf32>, %b: index, %s: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%b, %s, %c64) step (%c1, %c1, %c1) {
    %x = memref.load %in[%i, %j, %k] : memref<?x?x64xf32>
    %y = arith.mulf %x, %two : f32
    memref.store %y, %out[%i, %j, %k] : memref<?x?x64xf32>
    scf.reduce
  }
  return
}

// Known to be small at compile time: stays inline.
// CHECK-LABEL: func.func @small
// CHECK: scf.parallel
// CHECK-NOT: call
func.func @small(%in: memref<4x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i, %k) = (%c0, %c0) to (%c4, %c64) step (%c1, %c1) {
    %x = memref.load %in[%i, %k] : memref<4x64xf32>
    %y = arith.mulf %x, %two : f32
    memref.store %y, %in[%i, %k] : memref<4x64xf32>
    scf.reduce
  }
  return
}

// An outer loop that does not start at 0, and a nest inside a loop: both
// stay (the flattened range assumes zero-based unit-step outer loops, and
// only nests directly in a function body are outlined).
// CHECK-LABEL: func.func @not_outlined
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.parallel
// CHECK-NOT: call
func.func @not_outlined(%m: memref<?x?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %two = arith.constant 2.0 : f32
  scf.parallel (%i, %k) = (%c1, %c0) to (%n, %n) step (%c1, %c1) {
    memref.store %two, %m[%i, %k] : memref<?x?xf32>
    scf.reduce
  }
  scf.for %t = %c0 to %n step %c1 {
    scf.parallel (%i, %k) = (%c0, %c0) to (%n, %n) step (%c1, %c1) {
      memref.store %two, %m[%i, %k] : memref<?x?xf32>
      scf.reduce
    }
  }
  return
}

// A one-dimensional nest splits its only loop; a reduction loop inside
// counts toward the work per item (1024 constant iterations: grain 16).
// CHECK-LABEL: func.func @row_sums
// CHECK: %[[WORK:.*]] = arith.constant 1024 : index
// CHECK: arith.maxsi %[[WORK]]
// CHECK: call @__kiln_par_1(%{{.*}}, %[[N:.*]], %{{.*}}, %{{.*}}, %{{.*}})

// The bodies, after the functions that call them.
// CHECK-LABEL: func.func private @__kiln_par_0
// CHECK-SAME: (%[[BEGIN:[a-z0-9]+]]: index, %[[END:[a-z0-9]+]]: index, %{{[a-z0-9]+}}: index, %[[IN0:[a-z0-9]+]]: memref<?x?x64xf32>, %[[OUT0:[a-z0-9]+]]: memref<?x?x64xf32>, %{{[a-z0-9]+}}: index, %[[S0:[a-z0-9]+]]: index)
// CHECK: scf.for %[[F:.*]] = %[[BEGIN]] to %[[END]]
// CHECK: %[[J:.*]] = arith.remui %[[F]], %[[S0]]
// CHECK: %[[I:.*]] = arith.divui %[[F]], %[[S0]]
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}}
// CHECK: memref.load %[[IN0]][%[[I]], %[[J]], %[[K]]]
// CHECK: memref.store %{{.*}}, %[[OUT0]][%[[I]], %[[J]], %[[K]]]

// CHECK-LABEL: func.func private @__kiln_par_1
// CHECK-SAME: (%[[BEGIN1:[a-z0-9]+]]: index, %[[END1:[a-z0-9]+]]: index
// CHECK: scf.for %[[R:.*]] = %[[BEGIN1]] to %[[END1]]
// CHECK-NOT: arith.divui
// CHECK: scf.for
// CHECK: memref.load %{{.*}}[%[[R]], %{{.*}}]
func.func @row_sums(%m: memref<?x1024xf32>, %out: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %k = %c0 to %c1024 step %c1 {
      %x = memref.load %m[%i, %k] : memref<?x1024xf32>
      %acc = memref.load %out[%i] : memref<?xf32>
      %sum = arith.addf %acc, %x : f32
      memref.store %sum, %out[%i] : memref<?xf32>
    }
    scf.reduce
  }
  return
}
