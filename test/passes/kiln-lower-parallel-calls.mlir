// RUN: kiln-opt %s -kiln-lower-parallel-calls | FileCheck %s

// The runtime entry point is declared once.
// CHECK: llvm.func @kiln_rt_parallel_for(i64, i64, i64, !llvm.ptr, !llvm.ptr)

// The call of an outlined body becomes kiln_rt_parallel_for over the same
// range and grain; the captures (here a pointer and an i64) go through a
// frame allocated once in the caller's entry block.
// CHECK-LABEL: llvm.func @caller
// CHECK-SAME: (%[[P:[a-z0-9]+]]: !llvm.ptr, %[[N:[a-z0-9]+]]: i64, %[[G:[a-z0-9]+]]: i64)
// CHECK: %[[FRAME:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, i64)>
// CHECK: llvm.br ^[[BODY:.*]]
// CHECK: ^[[BODY]]:
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[FRAME]][0, 0]
// CHECK: llvm.store %[[P]], %[[S0]]
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[FRAME]][0, 1]
// CHECK: llvm.store %[[N]], %[[S1]]
// CHECK: %[[TASK:.*]] = llvm.mlir.addressof @__kiln_par_0_task
// CHECK: llvm.call @kiln_rt_parallel_for(%{{.*}}, %[[N]], %[[G]], %[[TASK]], %[[FRAME]])
// CHECK-NOT: llvm.call @__kiln_par_0(
// CHECK: llvm.return
llvm.func @caller(%p: !llvm.ptr, %n: i64, %grain: i64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  llvm.br ^body
^body:
  llvm.call @__kiln_par_0(%c0, %n, %grain, %p, %n) : (i64, i64, i64, !llvm.ptr, i64) -> ()
  llvm.return
}

llvm.func internal @__kiln_par_0(%begin: i64, %end: i64, %grain: i64, %p: !llvm.ptr, %n: i64) {
  llvm.return
}

// Calls of other functions are left alone.
// CHECK-LABEL: llvm.func @other
// CHECK: llvm.call @helper(
// CHECK-NOT: kiln_rt_parallel_for
llvm.func @other(%n: i64) {
  llvm.call @helper(%n) : (i64) -> ()
  llvm.return
}
llvm.func @helper(i64)

// The task: loads the frame's fields and runs the body on its chunk.
// CHECK-LABEL: llvm.func internal @__kiln_par_0_task
// CHECK-SAME: (%[[F:[a-z0-9]+]]: !llvm.ptr, %[[B:[a-z0-9]+]]: i64, %[[E:[a-z0-9]+]]: i64, %{{[a-z0-9]+}}: i32)
// CHECK: %[[A0:.*]] = llvm.getelementptr %[[F]][0, 0]
// CHECK: %[[V0:.*]] = llvm.load %[[A0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[A1:.*]] = llvm.getelementptr %[[F]][0, 1]
// CHECK: %[[V1:.*]] = llvm.load %[[A1]] : !llvm.ptr -> i64
// CHECK: llvm.call @__kiln_par_0(%[[B]], %[[E]], %{{.*}}, %[[V0]], %[[V1]])
