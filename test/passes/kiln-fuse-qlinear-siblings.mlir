// RUN: kiln-opt %s -kiln-fuse-qlinear-siblings | FileCheck %s
// RUN: rm -rf %t && mkdir -p %t
// RUN: kiln-opt %s -kiln-fuse-qlinear-siblings -o %t/fused.mlir
// RUN: kilnc -q %s -o %t/libseparate.so
// RUN: kilnc -q %t/fused.mlir -o %t/libfused.so
// RUN: %python -c "import numpy as np, os, sys; os.makedirs(sys.argv[1]); np.save(sys.argv[1] + '/x.npy', np.random.default_rng(5).standard_normal((9, 5)).astype(np.float32))" %t/in
// RUN: kiln-run %t/libseparate.so --inputs %t/in --outputs %t/separate
// RUN: kiln-run %t/libfused.so --inputs %t/in --expect %t/separate --atol 0 --rtol 0 | FileCheck %s --check-prefix=SAME

// Two kiln.qlinear ops on one input with one activation, one with a bias
// and one without: one GEMM over 20 columns (the missing bias is zeros) and
// a slice per result; the input is quantized once. The results are the
// separate ops' bit for bit.
// CHECK-DAG: #[[OFFA:.*]] = affine_map<()[s0] -> (0, 0)>
// CHECK-DAG: #[[OFFC:.*]] = affine_map<()[s0] -> (0, 17)>
// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[W:.*]] = kiln.constant dense_resource<qweight_fused> : tensor<5x20xi8>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense<{{.*}}> : tensor<20xf32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<{{.*}}0.000000e+00, 0.000000e+00, 0.000000e+00]> : tensor<20xf32>
// CHECK: %[[Y:.*]] = kiln.qlinear %arg0, %[[W]], %[[S]], %[[B]] {activation = "gelu"} : tensor<?x5xf32>, tensor<5x20xi8>, tensor<20xf32>, tensor<20xf32> -> tensor<?x20xf32>
// CHECK: %[[A:.*]] = kiln.slice %[[Y]] {offsets = #[[OFFA]], sizes = #{{.*}}, strides = array<i64: 1, 1>} : tensor<?x20xf32> -> tensor<?x17xf32>
// CHECK: %[[C:.*]] = kiln.slice %[[Y]] {offsets = #[[OFFC]], sizes = #{{.*}}, strides = array<i64: 1, 1>} : tensor<?x20xf32> -> tensor<?x3xf32>
// CHECK-NOT: kiln.qlinear
// CHECK: return %[[A]], %[[C]]
// SAME: a: max_abs_err=0 max_rel_err=0 mismatches=0/153
// SAME: b: max_abs_err=0 max_rel_err=0 mismatches=0/27
func.func @main(%x: tensor<?x5xf32> {kiln.dims = affine_map<()[s0] -> (s0, 5)>, kiln.name = "x"}) -> (tensor<?x17xf32> {kiln.dims = affine_map<()[s0] -> (s0, 17)>, kiln.name = "a"}, tensor<?x3xf32> {kiln.dims = affine_map<()[s0] -> (s0, 3)>, kiln.name = "b"}) attributes {kiln.symbols = ["m"]} {
  %w0 = kiln.constant dense<[[  79, -106,  -82,  -67,  -81,   77,   94,   21, -117, -103,  -43,  -17,   31,   -5,  -60,  -87,   49], [  60, -119,  -99,  -12,  -28,   99,    4,  -20,  -18,   42,   22,  -83,   61,   65,  116,   73,  -55], [ -46,   38,   38,   50,   94,  -53,  112, -127, -108,  121,  113,  -51,  -92,  -47, -117,  100,   41], [  22,  -65,   -7,  -79,   70,   -7, -120,  -63,   53,    5,  -32,  -63, -104,   28,   41,    5,  110], [ 109,  -75,   28,   33,  -64,  -51,   -3,   62,  -53,   57,   39,  -72,  -29,   84,   87,   40, -126]]> : tensor<5x17xi8>
  %s0 = kiln.constant dense<[0.010593679 , 0.0039266916, 0.014968527 , 0.0068395725, 0.018422782 , 0.0065074875, 0.012236195 , 0.008993125 , 0.01325819  , 0.004932785 , 0.004605751 , 0.015937207 , 0.016044468 , 0.0123395575, 0.019421594 , 0.005115501 , 0.018018022 ]> : tensor<17xf32>
  %b0 = kiln.constant dense<[-0.10055521 , -0.21580054 , -0.049803983,  0.032802008, -0.060921613,  0.15906402 , -0.11912267 ,  0.035453193, -0.104840554,  0.1405963  , -0.002165123, -0.037225056, -0.1718185  ,  0.16818255 ,  0.07527786 ,  0.07535639 ,  0.11378813 ]> : tensor<17xf32>
  %w1 = kiln.constant dense<[[  47,  -70,   82], [ 105,  -18,  117], [  66,  -44,   97], [ -29, -101,   24], [  89,   40,  -27]]> : tensor<5x3xi8>
  %s1 = kiln.constant dense<[0.004379746, 0.020287154, 0.013473854]> : tensor<3xf32>
  %a = kiln.qlinear %x, %w0, %s0, %b0 {activation = "gelu"} : tensor<?x5xf32>, tensor<5x17xi8>, tensor<17xf32>, tensor<17xf32> -> tensor<?x17xf32>
  %c = kiln.qlinear %x, %w1, %s1 {activation = "gelu"} : tensor<?x5xf32>, tensor<5x3xi8>, tensor<3xf32> -> tensor<?x3xf32>
  return %a, %c : tensor<?x17xf32>, tensor<?x3xf32>
}
