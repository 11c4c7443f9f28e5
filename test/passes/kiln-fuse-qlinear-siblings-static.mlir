// RUN: kiln-opt %s -kiln-fuse-qlinear-siblings | FileCheck %s

// Static input quantization (quant = "static_u8", from QDQ models): siblings
// fuse only when they quantize the input with the same scale and zero
// point. %a and %b share them and become one GEMM over 5 columns; %c's zero
// point differs, so it stays as it is.
// CHECK-LABEL: func.func @main
// CHECK: %[[Y:.*]] = kiln.qlinear %arg0, %{{.*}}, %{{.*}} {input_scale = 2.500000e-01 : f32, input_zero_point = 100 : i32, quant = "static_u8"} : tensor<?x4xf32>, tensor<4x5xi8>, tensor<5xf32> -> tensor<?x5xf32>
// CHECK: kiln.slice %[[Y]]
// CHECK: kiln.slice %[[Y]]
// CHECK: kiln.qlinear %arg0, %{{.*}}, %{{.*}} {input_scale = 2.500000e-01 : f32, input_zero_point = 101 : i32, quant = "static_u8"} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
// CHECK-NOT: kiln.qlinear
func.func @main(%x: tensor<?x4xf32> {kiln.dims = affine_map<()[s0] -> (s0, 4)>, kiln.name = "x"}) -> (tensor<?x3xf32>, tensor<?x2xf32>, tensor<?x2xf32>) attributes {kiln.symbols = ["m"]} {
  %w0 = kiln.constant dense<[[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, -2, -3]]> : tensor<4x3xi8>
  %s0 = kiln.constant dense<[0.5, 0.25, 0.125]> : tensor<3xf32>
  %w1 = kiln.constant dense<[[1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi8>
  %s1 = kiln.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %a = kiln.qlinear %x, %w0, %s0 {quant = "static_u8", input_scale = 0.25 : f32, input_zero_point = 100 : i32} : tensor<?x4xf32>, tensor<4x3xi8>, tensor<3xf32> -> tensor<?x3xf32>
  %b = kiln.qlinear %x, %w1, %s1 {quant = "static_u8", input_scale = 0.25 : f32, input_zero_point = 100 : i32} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  %c = kiln.qlinear %x, %w1, %s1 {quant = "static_u8", input_scale = 0.25 : f32, input_zero_point = 101 : i32} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  return %a, %b, %c : tensor<?x3xf32>, tensor<?x2xf32>, tensor<?x2xf32>
}
