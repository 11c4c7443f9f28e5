// RUN: kiln-opt %s -kiln-fuse-qlinear-siblings | FileCheck %s

// Siblings whose input derives from another GEMM's result (a transformer
// layer's q, k and v read the LayerNorm of a residual sum after the previous
// layer's GEMMs): the input's extents follow through kiln.qlinear, so the
// two still become one GEMM. Before kiln.qlinear had a shape rule, only the
// first layer's q, k and v fused.
// CHECK-LABEL: func.func @main
// CHECK: %[[H:.*]] = kiln.qlinear %arg0, {{.*}} -> tensor<?x5xf32>
// CHECK: %[[Y:.*]] = kiln.add %[[H]], %arg0
// CHECK: %[[F:.*]] = kiln.qlinear %[[Y]], {{.*}} : tensor<?x5xf32>, tensor<5x5xi8>, tensor<5xf32> -> tensor<?x5xf32>
// CHECK: kiln.slice %[[F]]
// CHECK: kiln.slice %[[F]]
// CHECK-NOT: kiln.qlinear
func.func @main(%x: tensor<?x5xf32> {kiln.dims = affine_map<()[s0] -> (s0, 5)>, kiln.name = "x"}) -> (tensor<?x3xf32> {kiln.dims = affine_map<()[s0] -> (s0, 3)>, kiln.name = "a"}, tensor<?x2xf32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "b"}) attributes {kiln.symbols = ["m"]} {
  %w0 = kiln.constant dense<[[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [-1, -2, -3, -4, -5], [11, 12, 13, 14, 15], [0, 1, 0, 1, 0]]> : tensor<5x5xi8>
  %s0 = kiln.constant dense<[0.01, 0.02, 0.03, 0.04, 0.05]> : tensor<5xf32>
  %w1 = kiln.constant dense<[[47, -70, 82], [105, -18, 117], [66, -44, 97], [-29, -101, 24], [89, 40, -27]]> : tensor<5x3xi8>
  %s1 = kiln.constant dense<[0.004379746, 0.020287154, 0.013473854]> : tensor<3xf32>
  %w2 = kiln.constant dense<[[3, -7], [10, -1], [6, -4], [-2, -10], [8, 4]]> : tensor<5x2xi8>
  %s2 = kiln.constant dense<[0.01, 0.03]> : tensor<2xf32>
  %h = kiln.qlinear %x, %w0, %s0 : tensor<?x5xf32>, tensor<5x5xi8>, tensor<5xf32> -> tensor<?x5xf32>
  %y = kiln.add %h, %x : tensor<?x5xf32>, tensor<?x5xf32> -> tensor<?x5xf32>
  %a = kiln.qlinear %y, %w1, %s1 : tensor<?x5xf32>, tensor<5x3xi8>, tensor<3xf32> -> tensor<?x3xf32>
  %c = kiln.qlinear %y, %w2, %s2 : tensor<?x5xf32>, tensor<5x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  return %a, %c : tensor<?x3xf32>, tensor<?x2xf32>
}
