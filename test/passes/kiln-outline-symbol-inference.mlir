// RUN: kiln-opt %s -split-input-file -kiln-outline-symbol-inference | FileCheck %s

// A reshape to a shape read from data: @main keeps the reshape and takes the
// data symbol's position in kiln.data_symbols; @main_symbols keeps what the
// binding needs and returns the bound values and the status (1 when the
// binding's check fails).
// CHECK-LABEL: func.func @main
// CHECK-SAME: kiln.data_symbols = array<i64: 1, 2>
// CHECK-NOT: kiln.bind_symbols
// CHECK-NOT: kiln.add
// CHECK: %[[R:.*]] = kiln.reshape %arg0
// CHECK-NEXT: return %[[R]]
// CHECK-LABEL: func.func @main_symbols
// CHECK-SAME: -> (tensor<2xi64> {kiln.dims = #{{.*}}, kiln.name = "symbols"}, tensor<i64> {kiln.dims = #{{.*}}, kiln.name = "status"})
// CHECK-SAME: kiln.symbol_inference
// CHECK-NOT: kiln.reshape %arg0
// CHECK: %[[V:.*]] = kiln.add %arg1
// CHECK: %[[B:.*]] = kiln.bind_symbols %[[V]], %[[OK:[^ ]+]] {check = "shape", symbols = array<i64: 1, 2>}
// CHECK-DAG: %[[ZERO:.*]] = kiln.constant dense<0> : tensor<i64>
// CHECK-DAG: %[[ONE:.*]] = kiln.constant dense<1> : tensor<i64>
// CHECK: %[[S:.*]] = kiln.where %[[OK]], %[[ZERO]], %[[ONE]]
// CHECK: return %[[B]], %[[S]]
func.func @main(%x: tensor<?x6xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 6)>, kiln.name = "x"},
                %shape: tensor<2xi64> {kiln.dims = affine_map<()[s0, s1, s2] -> (2)>, kiln.name = "shape"})
    -> (tensor<?x?xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s1, s2)>, kiln.name = "y"})
    attributes {kiln.symbols = ["n", "r.shape[0]", "r.shape[1]"]} {
  %c = kiln.constant dense<0> : tensor<2xi64>
  %v = kiln.add %shape, %c : tensor<2xi64>, tensor<2xi64> -> tensor<2xi64>
  %ok = kiln.constant dense<true> : tensor<i1>
  %b = kiln.bind_symbols %v, %ok {check = "shape", symbols = array<i64: 1, 2>} : tensor<2xi64>, tensor<i1>
  %y = kiln.reshape %x {shape = affine_map<()[s0, s1, s2] -> (s1, s2)>} : tensor<?x6xf32> -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// Two bindings, one with a check only: the values concatenate in symbol
// order and the first failing check gives the status (1, then 2).
// CHECK-LABEL: func.func @main
// CHECK-SAME: kiln.data_symbols = array<i64: 1>
// CHECK-LABEL: func.func @main_symbols
// CHECK: %[[B0:.*]] = kiln.bind_symbols %{{.*}}, %[[OK0:[^ ]*]] {check = "first", symbols = array<i64: 1>}
// CHECK: kiln.bind_symbols %{{.*}}, %[[OK1:[^ ]*]] {check = "second", symbols = array<i64>}
// CHECK: %[[S1:.*]] = kiln.where %[[OK1]], %{{.*}}, %{{.*}} : tensor<i1>, tensor<i64>, tensor<i64> -> tensor<i64>
// CHECK: %[[S0:.*]] = kiln.where %[[OK0]], %[[S1]], %{{.*}}
// CHECK: return %[[B0]], %[[S0]]
func.func @main(%x: tensor<?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0)>, kiln.name = "x"},
                %n: tensor<1xi64> {kiln.dims = affine_map<()[s0, s1] -> (1)>, kiln.name = "n"})
    -> (tensor<?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s1)>, kiln.name = "y"})
    attributes {kiln.symbols = ["m", "k"]} {
  %t = kiln.constant dense<true> : tensor<i1>
  %b0 = kiln.bind_symbols %n, %t {check = "first", symbols = array<i64: 1>} : tensor<1xi64>, tensor<i1>
  %none = kiln.constant dense<> : tensor<0xi64>
  %f = kiln.constant dense<false> : tensor<i1>
  %b1 = kiln.bind_symbols %none, %f {check = "second", symbols = array<i64>} : tensor<0xi64>, tensor<i1>
  %y = kiln.slice %x {offsets = affine_map<()[s0, s1] -> (0)>, sizes = affine_map<()[s0, s1] -> (s1)>, strides = array<i64: 1>} : tensor<?xf32> -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// -----

// Without bindings the module is left alone.
// CHECK-LABEL: func.func @main
// CHECK-NOT: kiln.data_symbols
// CHECK-NOT: func.func @main_symbols
func.func @main(%x: tensor<4xf32> {kiln.dims = affine_map<() -> (4)>, kiln.name = "x"})
    -> (tensor<4xf32> {kiln.dims = affine_map<() -> (4)>, kiln.name = "y"})
    attributes {kiln.symbols = []} {
  return %x : tensor<4xf32>
}
