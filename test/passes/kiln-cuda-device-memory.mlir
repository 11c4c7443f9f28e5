// RUN: kiln-opt %s -kiln-cuda-device-memory | FileCheck %s

module attributes {gpu.container_module} {
  // CHECK-LABEL: llvm.func @host
  // CHECK: %[[P:.*]] = llvm.call @kiln_cuda_alloc(%{{.*}}) : (i64) -> !llvm.ptr
  // CHECK: %[[Q:.*]] = llvm.call @kiln_cuda_aligned_alloc(%{{.*}}, %{{.*}}) : (i64, i64) -> !llvm.ptr
  // CHECK: %[[W:.*]] = llvm.mlir.addressof @weight : !llvm.ptr
  // CHECK: %[[BYTES:.*]] = llvm.mlir.constant(256 : i64) : i64
  // CHECK: %[[DW:.*]] = llvm.call @kiln_cuda_device_constant(%[[W]], %[[BYTES]])
  // CHECK: llvm.call @use(%[[DW]])
  // The message of a host-side call stays a host pointer.
  // CHECK: %[[S:.*]] = llvm.mlir.addressof @message : !llvm.ptr
  // CHECK-NEXT: llvm.call @puts(%[[S]])
  // CHECK: llvm.call @kiln_cuda_free(%[[P]])
  // CHECK: llvm.call @kiln_cuda_free(%[[Q]])
  llvm.func @host(%n: i64) {
    %c64 = llvm.mlir.constant(64 : i64) : i64
    %p = llvm.call @_mlir_memref_to_llvm_alloc(%n) : (i64) -> !llvm.ptr
    %q = llvm.call @_mlir_memref_to_llvm_aligned_alloc(%c64, %n) : (i64, i64) -> !llvm.ptr
    %w = llvm.mlir.addressof @weight : !llvm.ptr
    llvm.call @use(%w) : (!llvm.ptr) -> ()
    %s = llvm.mlir.addressof @message : !llvm.ptr
    llvm.call @puts(%s) : (!llvm.ptr) -> i32
    llvm.call @_mlir_memref_to_llvm_free(%p) : (!llvm.ptr) -> ()
    llvm.call @_mlir_memref_to_llvm_free(%q) : (!llvm.ptr) -> ()
    llvm.return
  }
  llvm.mlir.global private constant @weight(dense<1.0> : tensor<64xf32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<64 x f32>
  llvm.mlir.global private constant @message("oops\00") {addr_space = 0 : i32} : !llvm.array<5 x i8>
  llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
  llvm.func @_mlir_memref_to_llvm_aligned_alloc(i64, i64) -> !llvm.ptr
  llvm.func @_mlir_memref_to_llvm_free(!llvm.ptr)
  llvm.func @use(!llvm.ptr)
  llvm.func @puts(!llvm.ptr) -> i32

  // Device code keeps its own memory operations.
  // CHECK: gpu.module @kernels
  // CHECK: llvm.call @malloc
  gpu.module @kernels {
    llvm.func @malloc(i64) -> !llvm.ptr
    llvm.func @k(%n: i64) {
      %p = llvm.call @malloc(%n) : (i64) -> !llvm.ptr
      llvm.return
    }
  }
}
