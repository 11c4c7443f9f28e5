// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s --check-prefix=GPU
// RUN: kilnc -q --target=cuda:sm_90 --emit=ptx %s | FileCheck %s --check-prefix=PTX

// Statistics are per-row reductions: one thread per row runs the sequential
// loop over the 64 columns (mean, then variance), and the normalization is a
// fused elementwise kernel over all [tokens x 64] elements, 256 threads per
// block. Everything lands in one gpu.module (one PTX, one fatbinary).
// GPU-LABEL: func.func @layernorm_main
// GPU-COUNT-6: gpu.launch_func @layernorm_main_kernel::@layernorm_main_kernel{{(_[0-9])?}} blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// GPU-NOT: gpu.launch_func
// GPU: gpu.module @layernorm_main_kernel
// GPU-NOT: gpu.module
// GPU: gpu.func @layernorm_main_kernel_1({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// GPU: gpu.block_id x
// GPU: gpu.thread_id x
// GPU: scf.for
// GPU: arith.addf
// GPU: gpu.func @layernorm_main_kernel_3(
// GPU: math.rsqrt

// PTX: .version 8.0
// PTX: .target sm_90
// PTX: .visible .entry layernorm_main_kernel(
// PTX: .maxntid 256, 1, 1
// PTX: mov.u32 {{.*}}%ctaid.x
// PTX: mov.u32 {{.*}}%tid.x
// PTX: .visible .entry layernorm_main_kernel_3(
// PTX: rsqrt.approx.f32
// PTX: .visible .entry layernorm_main_kernel_4(
// PTX-NOT: .entry

// LayerNorm over the hidden axis of [tokens, 64] on CUDA.
func.func @main(
    %x: tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "x"},
    %g: tensor<64xf32> {kiln.dims = affine_map<()[s0] -> (64)>, kiln.name = "gamma"},
    %b: tensor<64xf32> {kiln.dims = affine_map<()[s0] -> (64)>, kiln.name = "beta"})
    -> (tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "y"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32}
      : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}
