// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s --check-prefix=GPU
// RUN: kilnc -q --target=cuda:sm_90 --emit=ptx %s | FileCheck %s --check-prefix=PTX

// Bias add, GELU and residual add fuse into one kernel that reads x, bias
// and the residual once each; the second kernel copies into the caller's
// output buffer.
// GPU-LABEL: func.func @bias_residual_main
// GPU-COUNT-2: gpu.launch_func
// GPU-NOT: gpu.launch_func
// GPU: gpu.func @bias_residual_main_kernel(%{{.*}}: memref<?x64xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<?x64xf32>
// GPU-COUNT-3: memref.load
// GPU: math.erf
// GPU: memref.store
// GPU: gpu.return

// PTX: .target sm_90
// PTX: .visible .entry bias_residual_main_kernel(
// PTX-COUNT-3: ld.global.b32
// PTX: st.global.b32

// y = residual + gelu(x + bias): a bias, activation and residual chain that
// must become one kernel.
func.func @main(
    %x: tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "x"},
    %bias: tensor<64xf32> {kiln.dims = affine_map<()[s0] -> (64)>, kiln.name = "bias"},
    %r: tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "residual"})
    -> (tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "y"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.add %x, %bias : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %1 = kiln.gelu %0 : tensor<?x64xf32>
  %2 = kiln.add %1, %r : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %2 : tensor<?x64xf32>
}
