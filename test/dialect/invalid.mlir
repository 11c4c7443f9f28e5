// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @transpose_not_permutation(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation}}
  %0 = kiln.transpose %x {perm = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @matmul_k_mismatch(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{contraction extents differ: 3 vs 4}}
  %0 = kiln.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{changes the element count from 6 to 7}}
  %0 = kiln.reshape %x {shape = affine_map<() -> (7)>} : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @slice_out_of_bounds(%x: tensor<8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{slice of dim 0 reads [6, 9] outside extent 8}}
  %0 = kiln.slice %x {offsets = affine_map<() -> (6)>, sizes = affine_map<() -> (4)>, strides = array<i64: 1>} : tensor<8xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gelu_bad_mode(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{approximate must be "none" or "tanh", got "fast"}}
  %0 = kiln.gelu %x {approximate = "fast"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @attention_heads_not_divisible(%q: tensor<1x6x4x8xf32>, %k: tensor<1x4x4x8xf32>, %v: tensor<1x4x4x8xf32>) -> tensor<1x6x4x8xf32> {
  // expected-error @+1 {{key/value heads (4) must divide query heads (6)}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f32} : tensor<1x6x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x6x4x8xf32>
  return %0 : tensor<1x6x4x8xf32>
}

// -----

func.func @attention_head_dim_mismatch(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{query and key head dims differ: 8 vs 16}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f32} : tensor<1x2x4x8xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

func.func @attention_bad_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>, %m: tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{does not broadcast to the scores}}
  %0 = kiln.attention %q, %k, %v, %m {scale = 1.0 : f32} : tensor<1x2x4x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>, tensor<1x1x1x4xf32> -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

func.func @linear_bias_size(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>, %b: tensor<5xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{bias must be 1-D with the weight's 4 columns, got 'tensor<5xf32>'}}
  %0 = kiln.linear %x, %w, %b : tensor<2x3xf32>, tensor<3x4xf32>, tensor<5xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @linear_activation(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{unknown activation "tanh"}}
  %0 = kiln.linear %x, %w {activation = "tanh"} : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @matmul_unsigned_mixed(%a: tensor<2x3xi32>, %b: tensor<3x4xui8>) -> tensor<2x4xi32> {
  // expected-error @+1 {{operand element types differ}}
  %0 = kiln.matmul %a, %b : tensor<2x3xi32>, tensor<3x4xui8> -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_wider_operand(%a: tensor<2x3xi64>, %b: tensor<3x4xi8>) -> tensor<2x4xi32> {
  // expected-error @+1 {{operand element types differ}}
  %0 = kiln.matmul %a, %b : tensor<2x3xi64>, tensor<3x4xi8> -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_f16_to_f64(%a: tensor<2x3xf16>, %b: tensor<3x4xf16>) -> tensor<2x4xf64> {
  // expected-error @+1 {{result element type 'f64' is neither the operands' 'f16' nor f32}}
  %0 = kiln.matmul %a, %b : tensor<2x3xf16>, tensor<3x4xf16> -> tensor<2x4xf64>
  return %0 : tensor<2x4xf64>
}

// -----

func.func @linear_f16_bias(%x: tensor<2x3xf16>, %w: tensor<3x4xf16>, %b: tensor<4xf16>) -> tensor<2x4xf32> {
  // expected-error @+1 {{element types must agree (input and weight; bias and result}}
  %0 = kiln.linear %x, %w, %b : tensor<2x3xf16>, tensor<3x4xf16>, tensor<4xf16> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @gather_nd_dynamic_tuple(%x: tensor<2x3xf32>, %i: tensor<4x?xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{the last dim of the indices must be static}}
  %0 = kiln.gather_nd %x[%i] {batch_dims = 0 : i64} : tensor<2x3xf32>, tensor<4x?xi64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gather_nd_tuple_too_long(%x: tensor<2x3xf32>, %i: tensor<4x3xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{batch_dims 0 and index tuples of 3 do not fit data of rank 2 and indices of rank 2}}
  %0 = kiln.gather_nd %x[%i] {batch_dims = 0 : i64} : tensor<2x3xf32>, tensor<4x3xi64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gather_elements_shape(%x: tensor<2x3xf32>, %i: tensor<2x2xi64>) -> tensor<2x3xf32> {
  // expected-error @+1 {{result shape must be the indices' shape}}
  %0 = kiln.gather_elements %x[%i] {axis = 0 : i64} : tensor<2x3xf32>, tensor<2x2xi64> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @cumsum_axis(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.cumsum %x {axis = 2 : i64, exclusive = false, reverse = false} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @arg_max_keepdims(%x: tensor<2x3xf32>) -> tensor<2xi64> {
  // expected-error @+1 {{result rank 1, expected 2}}
  %0 = kiln.arg_max %x {axis = 1 : i64, keepdims = true, select_last_index = false} : tensor<2x3xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @arg_min_extent(%x: tensor<2x3xf32>) -> tensor<3xi64> {
  // expected-error @+1 {{result 'tensor<3xi64>' does not match the input 'tensor<2x3xf32>' along axis 1}}
  %0 = kiln.arg_min %x {axis = 1 : i64, keepdims = false, select_last_index = false} : tensor<2x3xf32> -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

func.func @top_k_too_many(%x: tensor<2x3xf32>) -> (tensor<2x4xf32>, tensor<2x4xi64>) {
  // expected-error @+1 {{k = 4 is out of range for extent 3}}
  %0:2 = kiln.top_k %x {axis = 1 : i64, k = affine_map<() -> (4)>, largest = true} : tensor<2x3xf32> -> tensor<2x4xf32>, tensor<2x4xi64>
  return %0#0, %0#1 : tensor<2x4xf32>, tensor<2x4xi64>
}

// -----

func.func @top_k_extent(%x: tensor<2x3xf32>) -> (tensor<2x1xf32>, tensor<2x1xi64>) {
  // expected-error @+1 {{does not match the input 'tensor<2x3xf32>' along axis 1}}
  %0:2 = kiln.top_k %x {axis = 1 : i64, k = affine_map<() -> (2)>, largest = true} : tensor<2x3xf32> -> tensor<2x1xf32>, tensor<2x1xi64>
  return %0#0, %0#1 : tensor<2x1xf32>, tensor<2x1xi64>
}

// -----

func.func @scatter_nd_reduction(%x: tensor<4xf32>, %i: tensor<2x1xi64>, %u: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{reduction must be none, add, mul, max or min, got "sum"}}
  %0 = kiln.scatter_nd %x[%i], %u {reduction = "sum"} : tensor<4xf32>, tensor<2x1xi64>, tensor<2xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @scatter_nd_updates(%x: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{must have the shape indices.shape[:-1] + data.shape[k:]}}
  %0 = kiln.scatter_nd %x[%i], %u : tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x4xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @scatter_elements_shape(%x: tensor<4x3xf32>, %i: tensor<2x2xi64>, %u: tensor<2x1xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{must have one shape}}
  %0 = kiln.scatter_elements %x[%i], %u {axis = 0 : i64} : tensor<4x3xf32>, tensor<2x2xi64>, tensor<2x1xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @einsum_maps(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{has 1 indexing maps for 1 inputs and a result}}
  %0 = kiln.einsum %a {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>]} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @einsum_diagonal(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{d0 has extents 2 and 3}}
  %0 = kiln.einsum %a {indexing_maps = [affine_map<(d0) -> (d0, d0)>, affine_map<(d0) -> (d0)>]} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @einsum_broadcast(%a: tensor<2x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{only an input extent of 1 may be indexed by a constant 0}}
  %0 = kiln.einsum %a {indexing_maps = [affine_map<(d0) -> (0, d0)>, affine_map<(d0) -> (d0)>]} : (tensor<2x3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @einsum_unread(%a: tensor<3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{d1 indexes no input}}
  %0 = kiln.einsum %a {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>]} : (tensor<3xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @pad_mode(%x: tensor<4xf32>) -> tensor<6xf32> {
  // expected-error @+1 {{mode must be constant, edge, reflect or wrap, got "symmetric"}}
  %0 = kiln.pad %x {mode = "symmetric", pads = affine_map<() -> (1, 1)>} : tensor<4xf32> -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

func.func @pad_extent(%x: tensor<4xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{dim 0 of extent 4 padded by 1 and 1 gives 6, not 7}}
  %0 = kiln.pad %x {mode = "edge", pads = affine_map<() -> (1, 1)>} : tensor<4xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @pad_value_mode(%x: tensor<4xf32>, %v: tensor<f32>) -> tensor<6xf32> {
  // expected-error @+1 {{value must be a rank-0 tensor of the input's element type, in constant mode only}}
  %0 = kiln.pad %x, %v {mode = "wrap", pads = affine_map<() -> (1, 1)>} : tensor<4xf32>, tensor<f32> -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

func.func @qlinear_weight_type(%x: tensor<?x4xf32>, %w: tensor<4x2xf32>, %s: tensor<2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{expects an int8 weight and f32 input, scales, bias and result}}
  %0 = kiln.qlinear %x, %w, %s : tensor<?x4xf32>, tensor<4x2xf32>, tensor<2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_scales(%x: tensor<?x4xf32>, %w: tensor<4x2xi8>, %s: tensor<3xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{scales must be 1-D with the weight's 2 columns, got 'tensor<3xf32>'}}
  %0 = kiln.qlinear %x, %w, %s : tensor<?x4xf32>, tensor<4x2xi8>, tensor<3xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_quant(%x: tensor<?x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{unknown quant "col" (expected row, tensor_u8, none or static_u8)}}
  %0 = kiln.qlinear %x, %w, %s {quant = "col"} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_static_without_scale(%x: tensor<?x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{input_scale and input_zero_point go with quant static_u8 and only with it}}
  %0 = kiln.qlinear %x, %w, %s {quant = "static_u8", input_zero_point = 3 : i32} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_scale_without_static(%x: tensor<?x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{input_scale and input_zero_point go with quant static_u8 and only with it}}
  %0 = kiln.qlinear %x, %w, %s {quant = "row", input_scale = 0.5 : f32, input_zero_point = 3 : i32} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_static_zero_scale(%x: tensor<?x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{input_scale must be a positive normal number, got 0}}
  %0 = kiln.qlinear %x, %w, %s {quant = "static_u8", input_scale = 0.0 : f32, input_zero_point = 3 : i32} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_static_zero_point(%x: tensor<?x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{input_zero_point must be in [0, 255], got 256}}
  %0 = kiln.qlinear %x, %w, %s {quant = "static_u8", input_scale = 0.5 : f32, input_zero_point = 256 : i32} : tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_int4_quant(%x: tensor<?x64xf32>, %w: tensor<64x2xi8>, %s: tensor<2x2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{quant must be none or row, got 'tensor_u8'}}
  %0 = kiln.qlinear_int4 %x, %w, %s {group_size = 32 : i64, quant = "tensor_u8"} : tensor<?x64xf32>, tensor<64x2xi8>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_int4_group(%x: tensor<?x64xf32>, %w: tensor<64x2xi8>, %s: tensor<3x2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{group_size must be a positive multiple of 8, got 30}}
  %0 = kiln.qlinear_int4 %x, %w, %s {group_size = 30 : i64} : tensor<?x64xf32>, tensor<64x2xi8>, tensor<3x2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_int4_weight_type(%x: tensor<?x64xf32>, %w: tensor<64x2xui8>, %s: tensor<2x2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{expects an i8 weight and f32 input, bias and result}}
  %0 = kiln.qlinear_int4 %x, %w, %s {group_size = 32 : i64} : tensor<?x64xf32>, tensor<64x2xui8>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_int4_scales(%x: tensor<?x80xf32>, %w: tensor<80x2xi8>, %s: tensor<2x2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{scales must be f32 [ceil(K / 32), N] = [3, 2], got 'tensor<2x2xf32>'}}
  %0 = kiln.qlinear_int4 %x, %w, %s {group_size = 32 : i64} : tensor<?x80xf32>, tensor<80x2xi8>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_int4_zero_points(%x: tensor<?x64xf32>, %w: tensor<64x2xi8>, %s: tensor<2x2xf32>, %zp: tensor<2x2xi8>) -> tensor<?x2xf32> {
  // expected-error @+1 {{zero_points must be f32 [ceil(K / 32), N] = [2, 2], got 'tensor<2x2xi8>'}}
  %0 = kiln.qlinear_int4 %x, %w, %s zero_points %zp {group_size = 32 : i64} : tensor<?x64xf32>, tensor<64x2xi8>, tensor<2x2xf32>, tensor<2x2xi8> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @qlinear_int4_dynamic_weight(%x: tensor<?x64xf32>, %w: tensor<64x?xi8>, %s: tensor<2x2xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{weight must have a static shape, got 'tensor<64x?xi8>'}}
  %0 = kiln.qlinear_int4 %x, %w, %s {group_size = 32 : i64} : tensor<?x64xf32>, tensor<64x?xi8>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}
