// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s --check-prefix=GPU
// RUN: kilnc -q --target=cuda:sm_90 --emit=ptx %s | FileCheck %s --check-prefix=PTX

// Row max, exp(x - max) with the row sum, and the division: the two
// reductions run one thread per row over the symbolic key axis.
// GPU-LABEL: func.func @softmax_main
// GPU-COUNT-7: gpu.launch_func @softmax_main_kernel::
// GPU-NOT: gpu.launch_func
// GPU: gpu.func @softmax_main_kernel_0(
// GPU: scf.for
// GPU: arith.maximumf
// GPU: gpu.func @softmax_main_kernel_1(
// GPU: math.exp
// GPU: gpu.func @softmax_main_kernel_4(
// GPU: arith.divf

// exp comes from libdevice, linked into the kernels.
// PTX: .target sm_90
// PTX-NOT: .extern .func
// PTX: .visible .entry softmax_main_kernel_1(
// PTX: ex2.approx.ftz.f32
// PTX: .visible .entry softmax_main_kernel_4(
// PTX: div.rn.f32
// PTX: .visible .entry softmax_main_kernel_5(
// PTX-NOT: .entry

// Softmax over the last axis of attention scores [batch, heads, q, k].
func.func @main(
    %x: tensor<?x4x?x?xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, s2)>, kiln.name = "scores"})
    -> (tensor<?x4x?x?xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, s2)>, kiln.name = "probs"})
    attributes {kiln.symbols = ["batch", "q_len", "k_len"]} {
  %0 = kiln.softmax %x {axis = 3 : i64} : tensor<?x4x?x?xf32>
  return %0 : tensor<?x4x?x?xf32>
}
