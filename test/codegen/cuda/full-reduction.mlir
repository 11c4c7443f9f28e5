// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s

// A sum over every axis has no parallel dim: it runs as one thread (slow,
// but on device memory, where the host cannot read).
// CHECK-LABEL: func.func @full_reduction_main
// CHECK: gpu.launch_func @full_reduction_main_kernel::@full_reduction_main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
// CHECK: gpu.launch_func @full_reduction_main_kernel::@full_reduction_main_kernel_0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
// CHECK: gpu.func @full_reduction_main_kernel_0(
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.addf
func.func @main(
    %x: tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "x"})
    -> (tensor<f32> {kiln.dims = affine_map<()[s0] -> ()>, kiln.name = "total"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.reduce_sum %x {axes = array<i64: 0, 1>, keepdims = false} : tensor<?x64xf32> -> tensor<f32>
  return %0 : tensor<f32>
}
