// RUN: kiln-opt %s -kiln-approximate-math | FileCheck %s

// erf, tanh and exp become arithmetic (no libm call is left to lower).
// CHECK-LABEL: func.func @gelu_parts
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: math.fma
// CHECK: return
func.func @gelu_parts(%x: f32) -> (f32, f32, f32) {
  %0 = math.erf %x : f32
  %1 = math.tanh %x : f32
  %2 = math.exp %x : f32
  return %0, %1, %2 : f32, f32, f32
}

// Must not fire on f64 (the approximations are f32) nor on other functions.
// CHECK-LABEL: func.func @untouched
// CHECK: math.erf %{{.*}} : f64
// CHECK: math.sqrt %{{.*}} : f32
func.func @untouched(%x: f64, %y: f32) -> (f64, f32) {
  %0 = math.erf %x : f64
  %1 = math.sqrt %y : f32
  return %0, %1 : f64, f32
}
