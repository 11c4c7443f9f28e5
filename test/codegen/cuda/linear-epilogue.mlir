// REQUIRES: cuda
// RUN: kilnc -q --target=cuda:sm_90 --emit=gpu %s | FileCheck %s

// kiln.linear on CUDA: one cuBLASLt call per linear, with the bias and the
// activation in cuBLASLt's epilogue where it has one (KILN_CUDA_EPILOGUE_*:
// bias 1, ReLU 2, tanh-GELU 4; the runtime maps 5 to GELU_BIAS, 3 to
// RELU_BIAS, 1 to BIAS). cuBLASLt's GELU is the tanh form, so erf-GELU and
// SiLU keep only the bias in the epilogue and run as a kernel after it.
// CHECK-LABEL: func.func @linear_epilogue_main
// CHECK-DAG: %[[BIAS:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[RELU_BIAS:.*]] = arith.constant 3 : i32
// CHECK-DAG: %[[GELU_BIAS:.*]] = arith.constant 5 : i32
// CHECK-NOT: call @kiln_cuda_matmul
// CHECK: call @kiln_cuda_linear_f16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[GELU_BIAS]], %{{.*}})
// CHECK: call @kiln_cuda_linear_f16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[RELU_BIAS]], %{{.*}})
// CHECK: call @kiln_cuda_linear_f16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]], %{{.*}})
// CHECK: call @kiln_cuda_linear_f16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]], %{{.*}})
// CHECK: call @kiln_cuda_linear_f16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]], %{{.*}})
// CHECK-NOT: call @kiln_cuda_
// No kernel adds a bias or computes tanh-GELU or ReLU; erf-GELU and SiLU do
// run in kernels.
// CHECK-NOT: math.tanh
// CHECK-NOT: arith.maximumf
// CHECK-DAG: math.erf
// CHECK-DAG: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: arith.maximumf
// A chain of distinct shapes: no two products or outputs are the same (CSE
// would merge them, and an epilogue writing its own GEMM's input is not
// absorbed).
func.func @main(
    %x: tensor<?x64xf32> {kiln.dims = affine_map<()[s0] -> (s0, 64)>, kiln.name = "x"},
    %w0: tensor<64x96xf32> {kiln.dims = affine_map<()[s0] -> (64, 96)>, kiln.name = "w0"},
    %b0: tensor<96xf32> {kiln.dims = affine_map<()[s0] -> (96)>, kiln.name = "b0"},
    %w1: tensor<96x128xf32> {kiln.dims = affine_map<()[s0] -> (96, 128)>, kiln.name = "w1"},
    %b1: tensor<128xf32> {kiln.dims = affine_map<()[s0] -> (128)>, kiln.name = "b1"},
    %w2: tensor<128x160xf32> {kiln.dims = affine_map<()[s0] -> (128, 160)>, kiln.name = "w2"},
    %b2: tensor<160xf32> {kiln.dims = affine_map<()[s0] -> (160)>, kiln.name = "b2"},
    %w3: tensor<160x192xf32> {kiln.dims = affine_map<()[s0] -> (160, 192)>, kiln.name = "w3"},
    %b3: tensor<192xf32> {kiln.dims = affine_map<()[s0] -> (192)>, kiln.name = "b3"},
    %w4: tensor<192x224xf32> {kiln.dims = affine_map<()[s0] -> (192, 224)>, kiln.name = "w4"},
    %b4: tensor<224xf32> {kiln.dims = affine_map<()[s0] -> (224)>, kiln.name = "b4"})
    -> (tensor<?x224xf32> {kiln.dims = affine_map<()[s0] -> (s0, 224)>, kiln.name = "y"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.linear %x, %w0, %b0 {activation = "gelu_tanh"} : tensor<?x64xf32>, tensor<64x96xf32>, tensor<96xf32> -> tensor<?x96xf32>
  %1 = kiln.linear %0, %w1, %b1 {activation = "relu"} : tensor<?x96xf32>, tensor<96x128xf32>, tensor<128xf32> -> tensor<?x128xf32>
  %2 = kiln.linear %1, %w2, %b2 : tensor<?x128xf32>, tensor<128x160xf32>, tensor<160xf32> -> tensor<?x160xf32>
  %3 = kiln.linear %2, %w3, %b3 {activation = "gelu"} : tensor<?x160xf32>, tensor<160x192xf32>, tensor<192xf32> -> tensor<?x192xf32>
  %4 = kiln.linear %3, %w4, %b4 {activation = "silu"} : tensor<?x192xf32>, tensor<192x224xf32>, tensor<224xf32> -> tensor<?x224xf32>
  return %4 : tensor<?x224xf32>
}
