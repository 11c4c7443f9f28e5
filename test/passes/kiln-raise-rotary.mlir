// RUN: kiln-opt %s --pass-pipeline='builtin.module(func.func(kiln-raise-rotary))' | FileCheck %s

// Llama's apply_rotary_pos_emb on q [B, H, S, 16] with [1, 1, S, 16] tables.
// CHECK-LABEL: @llama_rotate_half
// CHECK-SAME: (%[[X:[^:]*]]: tensor{{.*}}, %[[COS:[^:]*]]: tensor{{.*}}, %[[SIN:[^:]*]]: tensor
// CHECK: %[[Y:.*]] = kiln.rotary %[[X]], %[[COS]], %[[SIN]] : tensor<?x4x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<?x4x?x16xf32>
// CHECK-NEXT: return %[[Y]]
func.func @llama_rotate_half(%x: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>},
                             %cos: tensor<1x1x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (1, 1, s1, 16)>},
                             %sin: tensor<1x1x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (1, 1, s1, 16)>}) -> tensor<?x4x?x16xf32>
    attributes {kiln.symbols = ["batch", "seq"]} {
  %0 = kiln.mul %x, %cos : tensor<?x4x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<?x4x?x16xf32>
  %1 = kiln.slice %x {offsets = affine_map<()[s0, s1] -> (0, 0, 0, 0)>, sizes = affine_map<()[s0, s1] -> (s0, 4, s1, 8)>, strides = array<i64: 1, 1, 1, 1>} : tensor<?x4x?x16xf32> -> tensor<?x4x?x8xf32>
  %2 = kiln.slice %x {offsets = affine_map<()[s0, s1] -> (0, 0, 0, 8)>, sizes = affine_map<()[s0, s1] -> (s0, 4, s1, 8)>, strides = array<i64: 1, 1, 1, 1>} : tensor<?x4x?x16xf32> -> tensor<?x4x?x8xf32>
  %3 = kiln.neg %2 : tensor<?x4x?x8xf32>
  %4 = kiln.concat %3, %1 {axis = 3 : i64} : (tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) -> tensor<?x4x?x16xf32>
  %5 = kiln.mul %4, %sin : tensor<?x4x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<?x4x?x16xf32>
  %6 = kiln.add %0, %5 : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %6 : tensor<?x4x?x16xf32>
}

// Operand order of the add and the products does not matter.
// CHECK-LABEL: @commuted_operands
// CHECK: kiln.rotary %arg0, %arg1, %arg2
func.func @commuted_operands(%x: tensor<2x4x16xf32>, %cos: tensor<4x16xf32>, %sin: tensor<4x16xf32>) -> tensor<2x4x16xf32>
    attributes {kiln.symbols = []} {
  %0 = kiln.mul %cos, %x : tensor<4x16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  %1 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 0)>, sizes = affine_map<() -> (2, 4, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x8xf32>
  %2 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 8)>, sizes = affine_map<() -> (2, 4, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x8xf32>
  %3 = kiln.neg %2 : tensor<2x4x8xf32>
  %4 = kiln.concat %3, %1 {axis = 2 : i64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x16xf32>
  %5 = kiln.mul %sin, %4 : tensor<4x16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  %6 = kiln.add %5, %0 : tensor<2x4x16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}

// We don't raise the opposite rotation, concat(x2, -x1).
// CHECK-LABEL: @opposite_rotation
// CHECK-NOT: kiln.rotary
// CHECK: kiln.concat
func.func @opposite_rotation(%x: tensor<2x4x16xf32>, %cos: tensor<4x16xf32>, %sin: tensor<4x16xf32>) -> tensor<2x4x16xf32>
    attributes {kiln.symbols = []} {
  %0 = kiln.mul %x, %cos : tensor<2x4x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %1 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 0)>, sizes = affine_map<() -> (2, 4, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x8xf32>
  %2 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 8)>, sizes = affine_map<() -> (2, 4, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x8xf32>
  %3 = kiln.neg %1 : tensor<2x4x8xf32>
  %4 = kiln.concat %3, %2 {axis = 2 : i64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x16xf32>
  %5 = kiln.mul %4, %sin : tensor<2x4x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %6 = kiln.add %0, %5 : tensor<2x4x16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}

// We don't raise halves that are not halves (a partial rotary of 4 of 16
// dims, as GPT-J's rotary_dim would write it).
// CHECK-LABEL: @partial_halves
// CHECK-NOT: kiln.rotary
// CHECK: kiln.concat
func.func @partial_halves(%x: tensor<2x4x16xf32>, %cos: tensor<4x16xf32>, %sin: tensor<4x16xf32>) -> tensor<2x4x16xf32>
    attributes {kiln.symbols = []} {
  %0 = kiln.mul %x, %cos : tensor<2x4x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %1 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 0)>, sizes = affine_map<() -> (2, 4, 4)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x4xf32>
  %2 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 4)>, sizes = affine_map<() -> (2, 4, 12)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x12xf32>
  %3 = kiln.neg %2 : tensor<2x4x12xf32>
  %4 = kiln.concat %3, %1 {axis = 2 : i64} : (tensor<2x4x12xf32>, tensor<2x4x4xf32>) -> tensor<2x4x16xf32>
  %5 = kiln.mul %4, %sin : tensor<2x4x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %6 = kiln.add %0, %5 : tensor<2x4x16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}

// We don't raise when the rotated half has another user.
// CHECK-LABEL: @rotated_used_twice
// CHECK-NOT: kiln.rotary
// CHECK: kiln.concat
func.func @rotated_used_twice(%x: tensor<2x4x16xf32>, %cos: tensor<4x16xf32>, %sin: tensor<4x16xf32>) -> (tensor<2x4x16xf32>, tensor<2x4x16xf32>)
    attributes {kiln.symbols = []} {
  %0 = kiln.mul %x, %cos : tensor<2x4x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %1 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 0)>, sizes = affine_map<() -> (2, 4, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x8xf32>
  %2 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 8)>, sizes = affine_map<() -> (2, 4, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x4x16xf32> -> tensor<2x4x8xf32>
  %3 = kiln.neg %2 : tensor<2x4x8xf32>
  %4 = kiln.concat %3, %1 {axis = 2 : i64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x16xf32>
  %5 = kiln.mul %4, %sin : tensor<2x4x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %6 = kiln.add %0, %5 : tensor<2x4x16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %6, %4 : tensor<2x4x16xf32>, tensor<2x4x16xf32>
}

// We don't raise when a table would broadcast x to more rows.
// CHECK-LABEL: @table_grows_input
// CHECK-NOT: kiln.rotary
// CHECK: kiln.concat
func.func @table_grows_input(%x: tensor<2x1x16xf32>, %cos: tensor<4x16xf32>, %sin: tensor<4x16xf32>) -> tensor<2x4x16xf32>
    attributes {kiln.symbols = []} {
  %0 = kiln.mul %x, %cos : tensor<2x1x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %1 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 0)>, sizes = affine_map<() -> (2, 1, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x1x16xf32> -> tensor<2x1x8xf32>
  %2 = kiln.slice %x {offsets = affine_map<() -> (0, 0, 8)>, sizes = affine_map<() -> (2, 1, 8)>, strides = array<i64: 1, 1, 1>} : tensor<2x1x16xf32> -> tensor<2x1x8xf32>
  %3 = kiln.neg %2 : tensor<2x1x8xf32>
  %4 = kiln.concat %3, %1 {axis = 2 : i64} : (tensor<2x1x8xf32>, tensor<2x1x8xf32>) -> tensor<2x1x16xf32>
  %5 = kiln.mul %4, %sin : tensor<2x1x16xf32>, tensor<4x16xf32> -> tensor<2x4x16xf32>
  %6 = kiln.add %0, %5 : tensor<2x4x16xf32>, tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}
