// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s --check-prefix=GPU
// RUN: kilnc -q --target=cuda:sm_100 --emit=ptx %s | FileCheck %s --check-prefix=PTX

// mean(x^2) is a per-row reduction (one thread per row, sequential over the
// hidden axis), then one fused kernel scales every element.
// GPU-LABEL: func.func @rmsnorm_main
// GPU-COUNT-4: gpu.launch_func @rmsnorm_main_kernel::
// GPU-NOT: gpu.launch_func
// GPU: gpu.func @rmsnorm_main_kernel_0(
// GPU: scf.for
// GPU: arith.mulf
// GPU: arith.addf
// GPU: gpu.func @rmsnorm_main_kernel_1(
// GPU: math.rsqrt
// GPU: arith.mulf

// sm_100 needs PTX ISA 8.6.
// PTX: .version 8.6
// PTX: .target sm_100
// PTX: .visible .entry rmsnorm_main_kernel_1(
// PTX: rsqrt.approx.f32
// PTX: .visible .entry rmsnorm_main_kernel_2(
// PTX-NOT: .entry

// RMSNorm over the hidden axis of [tokens, 64] on CUDA.
func.func @main(
    %x: tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "x"},
    %g: tensor<64xf32> {kiln.dims = affine_map<()[s0] -> (64)>, kiln.name = "gamma"})
    -> (tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "y"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.rms_norm %x, %g {epsilon = 1.0e-6 : f32}
      : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}
