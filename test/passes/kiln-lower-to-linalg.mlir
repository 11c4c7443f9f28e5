// RUN: kiln-opt %s -kiln-lower-to-linalg | FileCheck %s
// RUN: kiln-opt %s -kiln-lower-to-linalg --mlir-print-local-scope | FileCheck %s --check-prefix=ATT
// RUN: kiln-opt %s -kiln-lower-to-linalg='attention-kernel=cpu' | FileCheck %s --check-prefix=CALL
// RUN: kiln-opt %s -kiln-lower-to-linalg='attention-kernel=cuda' | FileCheck %s --check-prefix=CUDA
// RUN: not kiln-opt %s -kiln-lower-to-linalg='attention-kernel=gpu' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: kiln-opt %s -kiln-lower-to-linalg='kv-cache-views=1' | FileCheck %s --check-prefix=KV
// RUN: kiln-opt %s -kiln-lower-to-linalg='gather-reshapes=1' | FileCheck %s --check-prefix=GATHER

// BAD: unknown attention-kernel 'gpu' (expected none, cpu or cuda)

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

// Unsigned integers compute as signless ones of the same width, with the
// unsigned arith variants where the result differs: uint8 200 / 3 is 66,
// not -56 / 3. The boundary memrefs become signless too (same bits).
// CHECK-LABEL: func.func @uint8_arith
// CHECK-SAME: memref<4xi8> {kiln.dims = {{.*}}, kiln.name = "x"}
// CHECK-SAME: memref<4xi8> {kiln.dims = {{.*}}, kiln.name = "q", kiln.output}
// CHECK-SAME: memref<4xi1> {kiln.dims = {{.*}}, kiln.name = "lt", kiln.output}
// CHECK-SAME: memref<i8> {kiln.dims = {{.*}}, kiln.name = "top", kiln.output}
// CHECK-NOT: ui8
// CHECK: arith.divui
// CHECK: arith.remui
// CHECK-NOT: arith.cmpi slt
// CHECK: arith.maxui
// CHECK: arith.minui
// CHECK: arith.addi
// CHECK: arith.cmpi ult
// CHECK: arith.uitofp %{{.*}} : i8 to f32
// CHECK: arith.fptoui %{{.*}} : f32 to i8
// The reduction starts from 0, the unsigned minimum.
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i8
// CHECK: linalg.fill ins(%[[ZERO]] : i8)
// CHECK: arith.maxui
func.func @uint8_arith(%x: tensor<4xui8> {kiln.dims = affine_map<() -> (4)>, kiln.name = "x"},
                       %y: tensor<4xui8> {kiln.dims = affine_map<() -> (4)>, kiln.name = "y"})
    -> (tensor<4xui8> {kiln.dims = affine_map<() -> (4)>, kiln.name = "q"},
        tensor<4xui8> {kiln.dims = affine_map<() -> (4)>, kiln.name = "r"},
        tensor<4xi1> {kiln.dims = affine_map<() -> (4)>, kiln.name = "lt"},
        tensor<4xf32> {kiln.dims = affine_map<() -> (4)>, kiln.name = "f"},
        tensor<4xui8> {kiln.dims = affine_map<() -> (4)>, kiln.name = "back"},
        tensor<ui8> {kiln.dims = affine_map<() -> ()>, kiln.name = "top"})
    attributes {kiln.symbols = []} {
  %q = kiln.div %x, %y : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
  %r = kiln.mod %x, %y : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
  %hi = kiln.max %x, %y : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
  %lo = kiln.min %x, %y : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
  %s = kiln.add %hi, %lo : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
  %lt = kiln.less %s, %y : tensor<4xui8>, tensor<4xui8> -> tensor<4xi1>
  %f = kiln.cast %x : tensor<4xui8> -> tensor<4xf32>
  %back = kiln.cast %f : tensor<4xf32> -> tensor<4xui8>
  %top = kiln.reduce_max %x {axes = array<i64: 0>, keepdims = false} : tensor<4xui8> -> tensor<ui8>
  return %q, %r, %lt, %f, %back, %top : tensor<4xui8>, tensor<4xui8>, tensor<4xi1>, tensor<4xf32>, tensor<4xui8>, tensor<ui8>
}

// Constants of unsigned type keep their bits; casts from uint8 zero-extend.
// CHECK-LABEL: func.func @uint8_constant
// CHECK: arith.constant dense<[-56, 1]> : tensor<2xi8>
// CHECK: arith.extui %{{.*}} : i8 to i32
func.func @uint8_constant(%x: tensor<2xui8> {kiln.dims = affine_map<() -> (2)>, kiln.name = "x"})
    -> (tensor<2xi32> {kiln.dims = affine_map<() -> (2)>, kiln.name = "y"})
    attributes {kiln.symbols = []} {
  %c = kiln.constant dense<[200, 1]> : tensor<2xui8>
  %s = kiln.add %x, %c : tensor<2xui8>, tensor<2xui8> -> tensor<2xui8>
  %y = kiln.cast %s : tensor<2xui8> -> tensor<2xi32>
  return %y : tensor<2xi32>
}

// Integer pow is a square-and-multiply loop (math.ipowi has no LLVM
// lowering); a negative exponent selects 1, -1 or 0.
// CHECK-LABEL: func.func @ipow
// CHECK-NOT: math.ipowi
// CHECK: linalg.generic
// CHECK: %[[NEG:.*]] = arith.cmpi slt, %[[E:.*]], %{{.*}} : i32
// CHECK: scf.while
// CHECK: arith.muli
// CHECK: arith.shrui
// CHECK: arith.select %[[NEG]]
func.func @ipow(%x: tensor<3xi32> {kiln.dims = affine_map<() -> (3)>, kiln.name = "x"},
                %e: tensor<3xi32> {kiln.dims = affine_map<() -> (3)>, kiln.name = "e"})
    -> (tensor<3xi32> {kiln.dims = affine_map<() -> (3)>, kiln.name = "y"})
    attributes {kiln.symbols = []} {
  %y = kiln.pow %x, %e : tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
  return %y : tensor<3xi32>
}

// A slice with an empty result reads nothing: it is a tensor.empty, since
// extract_slice would reject the offset 10 into an extent of 10.
// CHECK-LABEL: func.func @empty_slice
// CHECK-NOT: tensor.extract_slice
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x0xf32>
// CHECK: bufferization.materialize_in_destination %[[E]]
func.func @empty_slice(%x: tensor<2x10xf32> {kiln.dims = affine_map<() -> (2, 10)>, kiln.name = "x"})
    -> (tensor<2x0xf32> {kiln.dims = affine_map<() -> (2, 0)>, kiln.name = "y"})
    attributes {kiln.symbols = []} {
  %y = kiln.slice %x {offsets = affine_map<() -> (0, 10)>, sizes = affine_map<() -> (2, 0)>, strides = array<i64: 1, 1>} : tensor<2x10xf32> -> tensor<2x0xf32>
  return %y : tensor<2x0xf32>
}

// Attention: q k^T with the key head chosen by h floordiv (H / Hkv), then
// scale/mask/causal in one generic, the softmax, and p v.
// ATT-LABEL: func.func @attention_gqa
// ATT: linalg.generic {{{.*}}affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4)>{{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// ATT: linalg.index 3
// ATT: arith.cmpi sgt
// ATT: math.exp
// ATT: linalg.generic {{{.*}}affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d4, d3)>
// With attention-kernel, the runtime's fused kernel reads the operands'
// buffers and overwrites a fresh one: here the output argument itself, as
// the result is the function's output (writeCallResultsInPlace).
// CALL-LABEL: func.func @attention_gqa
// CALL-DAG: %[[Q:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x4x3x8xf32> to memref<1x4x3x8xf32, strided<[?, ?, ?, ?], offset: ?>>
// CALL-DAG: %[[K:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x2x5x8xf32>
// CALL-DAG: %[[OUT:.*]] = memref.cast %arg3 : memref<1x4x3x8xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CALL-DAG: %[[CAUSAL:.*]] = arith.constant 1 : i32
// CALL-DAG: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CALL: call @kiln_rt_attention_f32({{.*}}, %[[OUT]], %[[SCALE]], %[[CAUSAL]])
// CALL-NOT: linalg.generic
// CALL-NOT: materialize_in_destination
// CALL: return
func.func @attention_gqa(%q: tensor<1x4x3x8xf32> {kiln.dims = affine_map<() -> (1, 4, 3, 8)>, kiln.name = "q"},
                         %k: tensor<1x2x5x8xf32> {kiln.dims = affine_map<() -> (1, 2, 5, 8)>, kiln.name = "k"},
                         %v: tensor<1x2x5x8xf32> {kiln.dims = affine_map<() -> (1, 2, 5, 8)>, kiln.name = "v"})
    -> (tensor<1x4x3x8xf32> {kiln.dims = affine_map<() -> (1, 4, 3, 8)>, kiln.name = "o"})
    attributes {kiln.symbols = []} {
  %0 = kiln.attention %q, %k, %v {scale = 0.5 : f32, causal} : tensor<1x4x3x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32> -> tensor<1x4x3x8xf32>
  return %0 : tensor<1x4x3x8xf32>
}

// The CUDA kernel has no head dim 8: attention_gqa keeps the reference ops
// there. Head dim 64 calls the device kernel on the operands' buffers, with
// the mask and no [Sq x Sk] scores in between.
// CUDA-LABEL: func.func @attention_gqa
// CUDA-NOT: call @kiln_cuda_attention
// CUDA: linalg.generic
// CUDA-NOT: call @kiln_cuda_attention
// CUDA: return
// CUDA-LABEL: func.func @attention_masked_d64
// CUDA-DAG: %[[Q:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<2x4x1x64xf32>
// CUDA-DAG: %[[M:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<2x1x1x9xf32>
// CUDA-DAG: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x4x1x64xf32>
// CUDA-DAG: %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
// CUDA: call @kiln_cuda_attention_masked_f32({{.*}}, %[[SCALE]], %{{.*}}) : (memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, {{.*}}, f32, i32) -> ()
// CUDA-NOT: linalg.generic
// CUDA: return
// The value head dim differs from the key one: no CUDA kernel.
// CUDA-LABEL: func.func @attention_value_dim_differs
// CUDA-NOT: call @kiln_cuda_attention
// CUDA: linalg.generic
// CUDA-NOT: call @kiln_cuda_attention
// CUDA: return
// CALL-LABEL: func.func @attention_masked_d64
// CALL: call @kiln_rt_attention_masked_f32
func.func @attention_masked_d64(%q: tensor<2x4x1x64xf32> {kiln.dims = affine_map<() -> (2, 4, 1, 64)>, kiln.name = "q"},
                                %k: tensor<2x2x9x64xf32> {kiln.dims = affine_map<() -> (2, 2, 9, 64)>, kiln.name = "k"},
                                %v: tensor<2x2x9x64xf32> {kiln.dims = affine_map<() -> (2, 2, 9, 64)>, kiln.name = "v"},
                                %m: tensor<2x1x1x9xf32> {kiln.dims = affine_map<() -> (2, 1, 1, 9)>, kiln.name = "m"})
    -> (tensor<2x4x1x64xf32> {kiln.dims = affine_map<() -> (2, 4, 1, 64)>, kiln.name = "o"})
    attributes {kiln.symbols = []} {
  %0 = kiln.attention %q, %k, %v, %m {scale = 0.125 : f32, causal} : tensor<2x4x1x64xf32>, tensor<2x2x9x64xf32>, tensor<2x2x9x64xf32>, tensor<2x1x1x9xf32> -> tensor<2x4x1x64xf32>
  return %0 : tensor<2x4x1x64xf32>
}
func.func @attention_value_dim_differs(%q: tensor<1x2x3x64xf32> {kiln.dims = affine_map<() -> (1, 2, 3, 64)>, kiln.name = "q"},
                                       %k: tensor<1x2x5x64xf32> {kiln.dims = affine_map<() -> (1, 2, 5, 64)>, kiln.name = "k"},
                                       %v: tensor<1x2x5x32xf32> {kiln.dims = affine_map<() -> (1, 2, 5, 32)>, kiln.name = "v"})
    -> (tensor<1x2x3x32xf32> {kiln.dims = affine_map<() -> (1, 2, 3, 32)>, kiln.name = "o"})
    attributes {kiln.symbols = []} {
  %0 = kiln.attention %q, %k, %v {scale = 0.125 : f32} : tensor<1x2x3x64xf32>, tensor<1x2x5x64xf32>, tensor<1x2x5x32xf32> -> tensor<1x2x3x32xf32>
  return %0 : tensor<1x2x3x32xf32>
}

// Rotary: one generic, reading each element's partner in the other half.
// CHECK-LABEL: func.func @rotary
// CHECK: linalg.generic
// CHECK: arith.cmpi ult
// CHECK: tensor.extract
// CHECK: arith.negf
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @rotary(%x: tensor<1x2x3x8xf32> {kiln.dims = affine_map<() -> (1, 2, 3, 8)>, kiln.name = "x"},
                  %cos: tensor<1x1x3x8xf32> {kiln.dims = affine_map<() -> (1, 1, 3, 8)>, kiln.name = "cos"},
                  %sin: tensor<1x1x3x8xf32> {kiln.dims = affine_map<() -> (1, 1, 3, 8)>, kiln.name = "sin"})
    -> (tensor<1x2x3x8xf32> {kiln.dims = affine_map<() -> (1, 2, 3, 8)>, kiln.name = "y"})
    attributes {kiln.symbols = []} {
  %0 = kiln.rotary %x, %cos, %sin : tensor<1x2x3x8xf32>, tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32> -> tensor<1x2x3x8xf32>
  return %0 : tensor<1x2x3x8xf32>
}

// RUN: kiln-opt %s -kiln-lower-to-linalg='epilogue-activations=relu,gelu_tanh' | FileCheck %s --check-prefix=EPI

// kiln.linear: a matmul, then one generic marked kiln.epilogue with the bias
// and the activation. With epilogue-activations (the CUDA target: cuBLASLt
// has ReLU and tanh-GELU), erf-GELU and SiLU leave the epilogue, which keeps
// the bias, for an unmarked generic after it; without a bias and with such
// an activation there is no epilogue at all.
// CHECK-LABEL: func.func @linear_activations
// CHECK: linalg.matmul
// CHECK: kiln.epilogue = {activation = "gelu", bias = true}
// CHECK: linalg.matmul
// CHECK: kiln.epilogue = {activation = "silu", bias = false}
// CHECK: linalg.matmul
// CHECK: kiln.epilogue = {activation = "gelu_tanh", bias = true}
// EPI-LABEL: func.func @linear_activations
// EPI: linalg.matmul
// EPI: linalg.generic
// EPI-SAME: kiln.epilogue = {activation = "none", bias = true}
// EPI-NOT: math.erf
// EPI: linalg.yield
// EPI: linalg.generic
// EPI-NOT: kiln.epilogue
// EPI: math.erf
// EPI: linalg.matmul
// EPI-NOT: kiln.epilogue
// EPI: linalg.generic
// EPI-NOT: kiln.epilogue
// EPI: math.exp
// EPI: linalg.matmul
// EPI: linalg.generic
// EPI-SAME: kiln.epilogue = {activation = "gelu_tanh", bias = true}
// EPI: math.tanh
func.func @linear_activations(
    %x: tensor<?x8xf32> {kiln.dims = affine_map<()[s0] -> (s0, 8)>, kiln.name = "x"},
    %w: tensor<8x16xf32> {kiln.dims = affine_map<()[s0] -> (8, 16)>, kiln.name = "w"},
    %b: tensor<16xf32> {kiln.dims = affine_map<()[s0] -> (16)>, kiln.name = "b"})
    -> (tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "gelu"},
        tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "silu"},
        tensor<?x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "gelu_tanh"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.linear %x, %w, %b {activation = "gelu"} : tensor<?x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  %1 = kiln.linear %x, %w {activation = "silu"} : tensor<?x8xf32>, tensor<8x16xf32> -> tensor<?x16xf32>
  %2 = kiln.linear %x, %w, %b {activation = "gelu_tanh"} : tensor<?x8xf32>, tensor<8x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  return %0, %1, %2 : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>
}

// f16 products accumulate in f32: the matmul's output is f32 and one
// generic narrows it, the epilogue where there is one (bias and activation
// computed in f32 too), else a conversion of its own.
// CHECK-LABEL: func.func @linear_f16
// CHECK: linalg.matmul ins({{.*}} : tensor<?x8xf16>, tensor<8x16xf16>) outs({{.*}} : tensor<?x16xf32>)
// CHECK: linalg.generic
// CHECK-SAME: kiln.epilogue = {activation = "relu", bias = true}
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: arith.maximumf {{.*}} : f32
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: linalg.matmul ins({{.*}} : tensor<?x8xf16>, tensor<8x16xf16>) outs({{.*}} : tensor<?x16xf32>)
// CHECK: linalg.generic
// CHECK-NOT: kiln.epilogue
// CHECK: arith.truncf {{.*}} : f32 to f16
func.func @linear_f16(
    %x: tensor<?x8xf16> {kiln.dims = affine_map<()[s0] -> (s0, 8)>, kiln.name = "x"},
    %w: tensor<8x16xf16> {kiln.dims = affine_map<()[s0] -> (8, 16)>, kiln.name = "w"},
    %b: tensor<16xf16> {kiln.dims = affine_map<()[s0] -> (16)>, kiln.name = "b"})
    -> (tensor<?x16xf16> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "relu"},
        tensor<?x16xf16> {kiln.dims = affine_map<()[s0] -> (s0, 16)>, kiln.name = "plain"})
    attributes {kiln.symbols = ["tokens"]} {
  %0 = kiln.linear %x, %w, %b {activation = "relu"} : tensor<?x8xf16>, tensor<8x16xf16>, tensor<16xf16> -> tensor<?x16xf16>
  %1 = kiln.linear %x, %w : tensor<?x8xf16>, tensor<8x16xf16> -> tensor<?x16xf16>
  return %0, %1 : tensor<?x16xf16>, tensor<?x16xf16>
}

// With kv-cache-views, an output that concatenates onto an input (a decode
// graph's present = Concat(past, new)) and that input become strided views,
// dense from the concat axis inward, so that both can live in one longer
// cache; the input records its output and the axis. Without the option, or
// for a concat whose first operand is computed, the types stay dense.
// CHECK-LABEL: func.func @kv_cache
// CHECK-SAME: (%{{.*}}: memref<?x4x?x16xf32> {{{.*}}}, %{{.*}}: memref<?x4x1x16xf32>
// CHECK-SAME: %{{.*}}: memref<?x4x?x16xf32> {{{.*}}kiln.output}, %{{.*}}: memref<?x4x?x16xf32> {{{.*}}kiln.output})
// KV-LABEL: func.func @kv_cache
// KV-SAME: (%{{.*}}: memref<?x4x?x16xf32, strided<[?, ?, 16, 1]>> {kiln.dims = {{.*}}, kiln.kv_cache = array<i64: 0, 2>, kiln.name = "past"}
// KV-SAME: %{{.*}}: memref<?x4x1x16xf32> {kiln.dims
// KV-SAME: %{{.*}}: memref<?x4x?x16xf32, strided<[?, ?, 16, 1]>> {{{.*}}kiln.name = "present", kiln.output}
// KV-SAME: %{{.*}}: memref<?x4x?x16xf32> {{{.*}}kiln.name = "doubled", kiln.output})
func.func @kv_cache(%past: tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1, 16)>, kiln.name = "past"},
                    %new: tensor<?x4x1x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, 1, 16)>, kiln.name = "new"})
    -> (tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1 + 1, 16)>, kiln.name = "present"},
        tensor<?x4x?x16xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 4, s1 + 2, 16)>, kiln.name = "doubled"})
    attributes {kiln.symbols = ["batch", "past_seq"]} {
  %present = kiln.concat %past, %new {axis = 2 : i64} : (tensor<?x4x?x16xf32>, tensor<?x4x1x16xf32>) -> tensor<?x4x?x16xf32>
  %twice = kiln.add %present, %present : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %doubled = kiln.concat %twice, %new {axis = 2 : i64} : (tensor<?x4x?x16xf32>, tensor<?x4x1x16xf32>) -> tensor<?x4x?x16xf32>
  return %present, %doubled : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>
}

// A reshape of a row-major tensor is a view (collapse/expand); with
// gather-reshapes=1 it is an element gather instead, to bisect a problem
// with views.
// CHECK-LABEL: func.func @reshape_view
// CHECK: tensor.collapse_shape
// CHECK: tensor.expand_shape
// CHECK-NOT: tensor.extract
// GATHER-LABEL: func.func @reshape_view
// GATHER-NOT: tensor.collapse_shape
// GATHER: linalg.generic
// GATHER: tensor.extract
func.func @reshape_view(%x: tensor<?x4x16xf32> {kiln.dims = affine_map<()[s0] -> (s0, 4, 16)>, kiln.name = "x"})
    -> (tensor<?x8x8xf32> {kiln.dims = affine_map<()[s0] -> (s0, 8, 8)>, kiln.name = "y"})
    attributes {kiln.symbols = ["batch"]} {
  %0 = kiln.reshape %x {shape = affine_map<()[s0] -> (s0, 8, 8)>} : tensor<?x4x16xf32> -> tensor<?x8x8xf32>
  return %0 : tensor<?x8x8xf32>
}

// CumSum: one generic with a reduction over the position j along the axis,
// taking x[j] where j <= i (here reverse and exclusive: j > i).
// CHECK-LABEL: func.func @cumsum_reverse_exclusive
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: %[[I:.*]] = linalg.index 1
// CHECK: %[[J:.*]] = linalg.index 2
// CHECK: arith.cmpi sgt, %[[J]], %[[I]]
// CHECK: arith.select
// CHECK: arith.addf
func.func @cumsum_reverse_exclusive(%x: tensor<?x8xf32> {kiln.dims = affine_map<()[s0] -> (s0, 8)>, kiln.name = "x"})
    -> (tensor<?x8xf32> {kiln.dims = affine_map<()[s0] -> (s0, 8)>, kiln.name = "y"})
    attributes {kiln.symbols = ["batch"]} {
  %0 = kiln.cumsum %x {axis = 1 : i64, exclusive = true, reverse = true} : tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// GatherND: each index of a tuple is read from the indices, wrapped if
// negative and clamped to the data's extent, then the data element is read.
// CHECK-LABEL: func.func @gather_nd
// CHECK: linalg.generic
// CHECK-COUNT-2: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : tensor<?x?x2xi64>
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<?x8xf32>
func.func @gather_nd(%x: tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "x"},
                     %i: tensor<?x?x2xi64> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 2)>, kiln.name = "i"})
    -> (tensor<?x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1)>, kiln.name = "y"})
    attributes {kiln.symbols = ["batch", "n"]} {
  %0 = kiln.gather_nd %x[%i] {batch_dims = 0 : i64} : tensor<?x8xf32>, tensor<?x?x2xi64> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// ArgMax: one generic reducing into (best value, best position); a later
// position replaces an equal value only with select_last_index (sgt).
// CHECK-LABEL: func.func @arg_max_last
// CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NEG_INF]] : f32)
// CHECK: %[[NONE:.*]] = arith.constant -1 : i64
// CHECK: linalg.fill ins(%[[NONE]] : i64)
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: %[[J:.*]] = arith.index_cast
// CHECK: arith.cmpi sgt, %[[J]]
// CHECK: arith.cmpf ogt
// CHECK: linalg.yield
func.func @arg_max_last(%x: tensor<?x8xf32> {kiln.dims = affine_map<()[s0] -> (s0, 8)>, kiln.name = "x"})
    -> (tensor<?xi64> {kiln.dims = affine_map<()[s0] -> (s0)>, kiln.name = "y"})
    attributes {kiln.symbols = ["batch"]} {
  %0 = kiln.arg_max %x {axis = 1 : i64, keepdims = false, select_last_index = true} : tensor<?x8xf32> -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// TopK: k passes in an scf.for; pass r reduces into the slices r of the
// results and leaves its pair in the tensors the next pass starts after.
// CHECK-LABEL: func.func @top_k
// CHECK: scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: tensor.extract_slice %{{.*}}[0, %[[R]]] [%{{.*}}, 1] [1, 1]
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: linalg.copy
// CHECK: linalg.copy
// CHECK: tensor.insert_slice %{{.*}}[0, %[[R]]] [%{{.*}}, 1] [1, 1]
// CHECK: tensor.insert_slice %{{.*}}[0, %[[R]]] [%{{.*}}, 1] [1, 1]
// CHECK: scf.yield
func.func @top_k(%x: tensor<?x8xi32> {kiln.dims = affine_map<()[s0] -> (s0, 8)>, kiln.name = "x"})
    -> (tensor<?x2xi32> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "v"},
        tensor<?x2xi64> {kiln.dims = affine_map<()[s0] -> (s0, 2)>, kiln.name = "i"})
    attributes {kiln.symbols = ["batch"]} {
  %0:2 = kiln.top_k %x {axis = 1 : i64, k = affine_map<() -> (2)>, largest = false} : tensor<?x8xi32> -> tensor<?x2xi32>, tensor<?x2xi64>
  return %0#0, %0#1 : tensor<?x2xi32>, tensor<?x2xi64>
}

// ScatterND: a copy of the data, then in order over the index tuples: each
// index is wrapped when negative, and the slice is combined under an scf.if
// on the tuple being in range.
// CHECK-LABEL: func.func @scatter_nd
// CHECK: %[[COPY:.*]] = linalg.copy
// CHECK: scf.for %[[U:.*]] = %{{.*}} iter_args(%[[T:.*]] = %[[COPY]])
// CHECK: tensor.extract %{{.*}}[%[[U]], %{{.*}}] : tensor<?x1xi64>
// CHECK: arith.cmpi slt
// CHECK: scf.if
// CHECK: scf.for
// CHECK: tensor.extract
// CHECK: arith.mulf
// CHECK: tensor.insert
// CHECK: } else {
// CHECK: scf.yield %[[T]]
func.func @scatter_nd(%x: tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "x"},
                      %i: tensor<?x1xi64> {kiln.dims = affine_map<()[s0, s1] -> (s1, 1)>, kiln.name = "i"},
                      %u: tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s1, 8)>, kiln.name = "u"})
    -> (tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "y"})
    attributes {kiln.symbols = ["n", "m"]} {
  %0 = kiln.scatter_nd %x[%i], %u {reduction = "mul"} : tensor<?x8xf32>, tensor<?x1xi64>, tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// Einsum: one generic with the op's indexing maps; the dim missing from the
// result (j) is a reduction, 16-bit floats sum in f32 and round once.
// CHECK-LABEL: func.func @einsum_f16
// CHECK: linalg.fill
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.extf
// CHECK: arith.extf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.truncf
func.func @einsum_f16(%a: tensor<?x8xf16> {kiln.dims = affine_map<()[s0] -> (s0, 8)>, kiln.name = "a"},
                      %b: tensor<8x4xf16> {kiln.dims = affine_map<()[s0] -> (8, 4)>, kiln.name = "b"})
    -> (tensor<?x4xf16> {kiln.dims = affine_map<()[s0] -> (s0, 4)>, kiln.name = "y"})
    attributes {kiln.symbols = ["n"]} {
  %0 = kiln.einsum %a, %b {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>]} : (tensor<?x8xf16>, tensor<8x4xf16>) -> tensor<?x4xf16>
  return %0 : tensor<?x4xf16>
}

// Pad, edge mode with static extents: one generic clamping the position in
// the input, then one tensor.extract; no guard, the input is not empty.
// CHECK-LABEL: func.func @pad_edge
// CHECK-NOT: scf.if
// CHECK: linalg.generic
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract %{{.*}} : tensor<3x4xf32>
func.func @pad_edge(%x: tensor<3x4xf32> {kiln.dims = affine_map<() -> (3, 4)>, kiln.name = "x"})
    -> (tensor<5x5xf32> {kiln.dims = affine_map<() -> (5, 5)>, kiln.name = "y"})
    attributes {kiln.symbols = []} {
  %0 = kiln.pad %x {mode = "edge", pads = affine_map<() -> (1, -1, 1, 2)>} : tensor<3x4xf32> -> tensor<5x5xf32>
  return %0 : tensor<5x5xf32>
}

// RUN: kiln-opt %s -kiln-lower-to-linalg='norm-kernel=1' | FileCheck %s --check-prefix=NORM

// With norm-kernel (CPU targets), an f32 LayerNorm or RMSNorm whose scale
// and bias have the normalized dims' shape is one call of kiln_rt_norm_f32
// on the [rows, cols] view: kind 0 LayerNorm, 1 RMSNorm, and a 0-element
// bias where there is none. A scale that broadcasts keeps the linalg
// reductions. Without the option, every norm is linalg (the default run's
// CHECK lines see no call). A result that is an output only (ln) is written
// into the output argument, viewed as [rows, cols]; one returned twice
// (rms) gets a buffer of its own and a copy into each output.
// NORM: func.func private @kiln_rt_norm_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, f32, i32) attributes {llvm.emit_c_interface}
// NORM-LABEL: func.func @norm_kernel
// NORM: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [%{{.*}}, 32] : tensor<?xf32> into tensor<?x32xf32>
// NORM: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<4x8xf32> into tensor<32xf32>
// NORM: %[[FLAT:.*]] = memref.collapse_shape %arg5 {{\[\[}}0, 1, 2, 3]] : memref<?x?x4x8xf32> into memref<?xf32>
// NORM: memref.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [%{{.*}}, 32] : memref<?xf32> into memref<?x32xf32>
// NORM: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// NORM: %[[LN:.*]] = arith.constant 0 : i32
// NORM: call @kiln_rt_norm_f32({{.*}}, %[[EPS]], %[[LN]])
// NORM: memref.alloca() : memref<0xf32>
// NORM: memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x8xf32>
// NORM: %[[RMS:.*]] = arith.constant 1 : i32
// NORM: call @kiln_rt_norm_f32({{.*}}, %[[RMS]])
// NORM-NOT: call @kiln_rt_norm_f32
// NORM: linalg.generic
// NORM-NOT: call @kiln_rt_norm_f32
// NORM-NOT: materialize_in_destination %{{.*}} in restrict writable %arg5
// NORM: materialize_in_destination %{{.*}} in restrict writable %arg6
// NORM: materialize_in_destination %{{.*}} in restrict writable %arg7
// NORM: materialize_in_destination %{{.*}} in restrict writable %arg8
// NORM: return
// CHECK-LABEL: func.func @norm_kernel
// CHECK-NOT: kiln_rt_norm_f32
// CHECK: return
func.func @norm_kernel(
    %x: tensor<?x?x4x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 4, 8)>, kiln.name = "x"},
    %g: tensor<4x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (4, 8)>, kiln.name = "g"},
    %b: tensor<4x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (4, 8)>, kiln.name = "b"},
    %w: tensor<8xf32> {kiln.dims = affine_map<()[s0, s1] -> (8)>, kiln.name = "w"},
    %one: tensor<1xf32> {kiln.dims = affine_map<()[s0, s1] -> (1)>, kiln.name = "one"})
    -> (tensor<?x?x4x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 4, 8)>, kiln.name = "ln"},
        tensor<?x?x4x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 4, 8)>, kiln.name = "rms"},
        tensor<?x?x4x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 4, 8)>, kiln.name = "rms_again"},
        tensor<?x?x4x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 4, 8)>, kiln.name = "bcast"})
    attributes {kiln.symbols = ["batch", "seq"]} {
  %0 = kiln.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-5 : f32} : tensor<?x?x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<?x?x4x8xf32>
  %1 = kiln.rms_norm %x, %w {epsilon = 1.0e-6 : f32} : tensor<?x?x4x8xf32>, tensor<8xf32> -> tensor<?x?x4x8xf32>
  %2 = kiln.layer_norm %x, %one {axis = 3 : i64, epsilon = 1.0e-5 : f32} : tensor<?x?x4x8xf32>, tensor<1xf32> -> tensor<?x?x4x8xf32>
  return %0, %1, %1, %2 : tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>
}

// A decode step: keys and values Concat(past, new) along the sequence. With
// attention-kernel=cpu one call fills the present caches while it reads
// them: into the output arguments where those are the concats' only other
// use (no copy of the cache before the attention), into a fresh buffer that
// replaces a concat used twice.
// A hidden dim known only at run time could make the scale a broadcast:
// linalg, no call.
// NORM-LABEL: func.func @norm_dynamic_hidden
// NORM-NOT: call @kiln_rt_norm_f32
// NORM: return
func.func @norm_dynamic_hidden(
    %x: tensor<?x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1)>, kiln.name = "x"},
    %g: tensor<?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s1)>, kiln.name = "g"})
    -> (tensor<?x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1)>, kiln.name = "y"})
    attributes {kiln.symbols = ["rows", "hidden"]} {
  %0 = kiln.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CALL-LABEL: func.func @attention_append
// CALL-DAG: %[[PK:.*]] = memref.cast %arg6 : memref<1x2x?x8xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CALL-DAG: %[[PV:.*]] = memref.cast %arg7 : memref<1x2x?x8xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CALL-DAG: %[[NOMASK:.*]] = arith.constant 0 : i32
// CALL: call @kiln_rt_attention_append_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[PK]], %[[PV]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NOMASK]])
// CALL-NOT: memref.copy
// CALL-NOT: materialize_in_destination
// CALL: return
// CALL-LABEL: func.func @attention_append_shared
// CALL: %[[BUF:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<1x2x?x8xf32>
// CALL: call @kiln_rt_attention_append_f32
// CALL: %[[FILLED:.*]] = bufferization.to_tensor %[[BUF]] restrict writable
// CALL: materialize_in_destination %[[FILLED]] in restrict writable %arg6
// CALL: materialize_in_destination %[[FILLED]] in restrict writable %arg7
// CALL: return
func.func @attention_append(
    %q: tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "q"},
    %pk: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_k"},
    %nk: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "k"},
    %pv: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_v"},
    %nv: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "v"})
    -> (tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "o"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_k"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_v"})
    attributes {kiln.symbols = ["past"]} {
  %k = kiln.concat %pk, %nk {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %v = kiln.concat %pv, %nv {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %o = kiln.attention %q, %k, %v {scale = 0.5 : f32, causal} : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x4x1x8xf32>
  return %o, %k, %v : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
}
func.func @attention_append_shared(
    %q: tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "q"},
    %pk: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_k"},
    %nk: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "k"},
    %pv: tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0, 8)>, kiln.name = "past_v"},
    %nv: tensor<1x2x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, 1, 8)>, kiln.name = "v"})
    -> (tensor<1x4x1x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 4, 1, 8)>, kiln.name = "o"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_k"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_k_again"},
        tensor<1x2x?x8xf32> {kiln.dims = affine_map<()[s0] -> (1, 2, s0 + 1, 8)>, kiln.name = "present_v"})
    attributes {kiln.symbols = ["past"]} {
  %k = kiln.concat %pk, %nk {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %v = kiln.concat %pv, %nv {axis = 2 : i64} : (tensor<1x2x?x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x?x8xf32>
  %o = kiln.attention %q, %k, %v {scale = 0.5 : f32, causal} : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x4x1x8xf32>
  return %o, %k, %k, %v : tensor<1x4x1x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
}

// RUN: kiln-opt %s -kiln-lower-to-linalg='index-checks=1' | FileCheck %s --check-prefix=IDX

// With index-checks (CPU targets), a gather whose indices are not constants
// first calls kiln_rt_check_indices_* on them, flattened, with the axis'
// extent and the node's description as bytes; constant indices get no call.
// Without the option no gather calls anything (CHECK-NOT below).
// IDX-DAG: func.func private @kiln_rt_check_indices_i64(memref<?xi64, strided<[?], offset: ?>>, i64, memref<?xi8, strided<[?], offset: ?>>) attributes {llvm.emit_c_interface}
// IDX-DAG: func.func private @kiln_rt_check_indices_i32(memref<?xi32, strided<[?], offset: ?>>, i64, memref<?xi8, strided<[?], offset: ?>>) attributes {llvm.emit_c_interface}
// IDX-LABEL: func.func @gather_checked
// IDX: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<?x?xi64> into tensor<?xi64>
// IDX: %[[N:.*]] = arith.index_cast %c50 : index to i64
// IDX: call @kiln_rt_check_indices_i64(%{{.*}}, %[[N]], %{{.*}})
// IDX: linalg.generic
// IDX: call @kiln_rt_check_indices_i32(
// IDX: linalg.generic
// IDX-NOT: call @kiln_rt_check_indices
// IDX: return
// CHECK-NOT: kiln_rt_check_indices
func.func @gather_checked(%table: tensor<50x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (50, 8)>, kiln.name = "table"},
                          %ids: tensor<?x?xi64> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1)>, kiln.name = "ids"},
                          %pos: tensor<?x8xi32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "pos"})
    -> (tensor<?x?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 8)>, kiln.name = "y"},
        tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "z"},
        tensor<2x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (2, 8)>, kiln.name = "w"})
    attributes {kiln.symbols = ["batch", "seq"]} {
  %0 = kiln.gather %table[%ids] {axis = 0 : i64} : tensor<50x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %1 = kiln.gather_elements %table[%pos] {axis = 0 : i64} : tensor<50x8xf32>, tensor<?x8xi32> -> tensor<?x8xf32>
  %c = arith.constant dense<[3, -1]> : tensor<2xi64>
  %2 = kiln.gather %table[%c] {axis = 0 : i64} : tensor<50x8xf32>, tensor<2xi64> -> tensor<2x8xf32>
  return %0, %1, %2 : tensor<?x?x8xf32>, tensor<?x8xf32>, tensor<2x8xf32>
}

// GatherND and ScatterND check each entry of their index tuples against its
// data dim (one column of the indices, copied out, per entry; a tuple of one
// entry is the indices themselves), ScatterElements its indices as a whole;
// the node's description names the entry.
// IDX-LABEL: func.func @nd_checked
// IDX: %[[C0:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0] [%{{.*}}, %{{.*}}, 1] [1, 1, 1] : tensor<?x?x2xi64> to tensor<?x?x1xi64>
// IDX: linalg.copy ins(%[[C0]]
// "node '?' (GatherND, entry 0 of each index tuple)":
// IDX: arith.constant dense<[110, 111, 100, 101, 32, 39, 63, 39, 32, 40, 71, 97, 116, 104, 101, 114, 78, 68, 44, 32, 101, 110, 116, 114, 121, 32, 48, 32, {{.*}}]> : tensor<48xi8>
// IDX: call @kiln_rt_check_indices_i64(
// IDX: tensor.extract_slice %{{.*}}[0, 0, 1] [%{{.*}}, %{{.*}}, 1] [1, 1, 1]
// IDX: call @kiln_rt_check_indices_i64(
// IDX: linalg.generic
// IDX-NOT: tensor.extract_slice
// IDX: call @kiln_rt_check_indices_i32(
// IDX: scf.for
// IDX: call @kiln_rt_check_indices_i64(
// IDX: scf.for
// IDX: return
func.func @nd_checked(%x: tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "x"},
                      %i: tensor<?x?x2xi64> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1, 2)>, kiln.name = "i"},
                      %j: tensor<?x1xi32> {kiln.dims = affine_map<()[s0, s1] -> (s1, 1)>, kiln.name = "j"},
                      %e: tensor<?x8xi64> {kiln.dims = affine_map<()[s0, s1] -> (s1, 8)>, kiln.name = "e"})
    -> (tensor<?x?xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, s1)>, kiln.name = "y"},
        tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "z"},
        tensor<?x8xf32> {kiln.dims = affine_map<()[s0, s1] -> (s0, 8)>, kiln.name = "w"})
    attributes {kiln.symbols = ["batch", "n"]} {
  %0 = kiln.gather_nd %x[%i] {batch_dims = 0 : i64} : tensor<?x8xf32>, tensor<?x?x2xi64> -> tensor<?x?xf32>
  %u = kiln.gather_nd %x[%j] {batch_dims = 0 : i64} : tensor<?x8xf32>, tensor<?x1xi32> -> tensor<?x8xf32>
  %1 = kiln.scatter_nd %x[%j], %u {reduction = "none"} : tensor<?x8xf32>, tensor<?x1xi32>, tensor<?x8xf32>
  %2 = kiln.scatter_elements %x[%e], %u {axis = 0 : i64, reduction = "add"} : tensor<?x8xf32>, tensor<?x8xi64>, tensor<?x8xf32>
  return %0, %1, %2 : tensor<?x?xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}
