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

// powf by constant exponents: multiplications, no libm call.
// CHECK-LABEL: func.func @pow_by_constants
// CHECK-NOT: math.powf
// CHECK-SAME: (%[[X:[a-z0-9]+]]: f32)
// CHECK: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK: %[[SQ2:.*]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK: %[[CUBE:.*]] = arith.mulf %[[X]], %[[SQ2]] : f32
// CHECK: return %[[SQ]], %[[CUBE]]
func.func @pow_by_constants(%x: f32) -> (f32, f32) {
  %two = arith.constant 2.0 : f32
  %three = arith.constant 3.0 : f32
  %0 = math.powf %x, %two : f32
  %1 = math.powf %x, %three : f32
  return %0, %1 : f32, f32
}

// A non-constant exponent keeps the call.
// CHECK-LABEL: func.func @pow_by_variable
// CHECK: math.powf
func.func @pow_by_variable(%x: f32, %y: f32) -> f32 {
  %0 = math.powf %x, %y : f32
  return %0 : f32
}
