// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s --check-prefix=GPU
// RUN: kilnc -q --target=cuda:sm_90 --emit=ptx %s | FileCheck %s --check-prefix=PTX

// Each GELU form is one elementwise kernel.
// GPU-LABEL: func.func @gelu_main
// GPU-COUNT-4: gpu.launch_func @gelu_main_kernel::
// GPU: gpu.func @gelu_main_kernel(
// GPU: math.erf
// GPU: gpu.func @gelu_main_kernel_0(
// GPU: math.tanh

// erf and tanh are libdevice's, inlined: no external calls remain.
// PTX: .target sm_90
// PTX-NOT: .extern .func
// PTX: .visible .entry gelu_main_kernel(
// PTX-NOT: call.uni
// PTX: .visible .entry gelu_main_kernel_2(
// PTX-NOT: .entry

// GELU, exact (erf) and tanh-approximated, on [tokens, 256].
func.func @main(
    %x: tensor<?x256xf32> {kiln.dims = affine_map<()[s0] -> (s0, 256)>, kiln.name = "x"})
    -> (tensor<?x256xf32> {kiln.dims = affine_map<()[s0] -> (s0, 256)>, kiln.name = "erf"},
        tensor<?x256xf32> {kiln.dims = affine_map<()[s0] -> (s0, 256)>, kiln.name = "tanh"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.gelu %x : tensor<?x256xf32>
  %1 = kiln.gelu %x {approximate = "tanh"} : tensor<?x256xf32>
  return %0, %1 : tensor<?x256xf32>, tensor<?x256xf32>
}
