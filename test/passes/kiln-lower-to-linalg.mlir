// RUN: kiln-opt %s -kiln-lower-to-linalg | FileCheck %s

// The signature becomes memrefs with outputs written in place; symbols are
// read from the input dims; a broadcasting add becomes one linalg.generic.
// CHECK-LABEL: func.func @add_bias
// CHECK-SAME: (%[[X:.*]]: memref<?x?x64xf32> {{.*}}, %[[OUT:.*]]: memref<?x?x64xf32> {{.*}}kiln.output
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[X]] restrict
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: arith.addf
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[OUT]]
func.func @add_bias(%x: tensor<?x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 64)>, kiln.name = "x"},
                    %b: tensor<64xf32> {kiln.dims = affine_map<()[s0, s1] -> (64)>, kiln.name = "b"})
    -> (tensor<?x?x64xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 64)>, kiln.name = "y"})
    attributes {kiln.symbols = ["batch", "seq"]} {
  %0 = kiln.add %x, %b : tensor<?x?x64xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
