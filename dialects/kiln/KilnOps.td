//===- KilnOps.td - Kiln dialect operation definitions -----*- tablegen -*-===//

#ifndef KILN_OPS
#define KILN_OPS

include "dialects/kiln/KilnDialect.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "tensor constant";
  let description = [{
    A constant tensor. Weights arrive as `dense_resource` blobs so that they
    are never printed inline; small constants stay `dense`.

    ```mlir
    %w = kiln.constant dense_resource<wte.weight> : tensor<1000x64xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Kiln_FillOp : Kiln_Op<"fill", [Pure]> {
  let summary = "tensor of a symbolic shape filled with one value";
  let description = [{
    ONNX `ConstantOfShape` with a shape known symbolically.

    ```mlir
    %m = kiln.fill -3.4e38 : f32 {shape = affine_map<()[s0, s1] -> (s1, s1)>}
        : tensor<?x?xf32>
    ```
  }];
  let arguments = (ins TypedAttrInterface:$value, AffineMapAttr:$shape);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_SymbolicValuesOp : Kiln_Op<"symbolic_values", [Pure]> {
  let summary = "1-D integer tensor holding symbolic expressions";
  let description = [{
    Materializes shape arithmetic as data, for the rare graph that feeds a
    shape value into a non-shape op.

    ```mlir
    %s = kiln.symbolic_values affine_map<()[s0, s1] -> (s0, s1 + 1)> : tensor<2xi64>
    ```
  }];
  let arguments = (ins AffineMapAttr:$values);
  let results = (outs 1DTensorOf<[I64, I32]>:$result);
  let assemblyFormat = "$values attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_BindSymbolsOp : Kiln_Op<"bind_symbols",
    [MemoryEffects<[MemWrite]>, AllTypesMatch<["values", "result"]>]> {
  let summary = "binds symbols to values read from tensor data at run time";
  let description = [{
    A shape that depends on tensor data (a Reshape whose target shape is
    computed, a Slice whose bounds are a graph input) gets fresh symbols,
    "data symbols". This op gives symbol `symbols[i]` the value `values[i]`
    for every op after it. `valid` says whether the values are legal for the
    node that reads them; when it is false the run stops before the model
    runs, with `check` as the message, and the symbols read 0. The result is
    the values as bound (all 0 when not valid).

    The artifact computes data symbols before it runs the model
    (kiln-outline-symbol-inference), so that the caller learns the output
    shapes first; the op has a write effect only so that it stays where the
    importer put it.

    ```mlir
    %b = kiln.bind_symbols %shape, %ok {symbols = array<i64: 2, 3>,
        check = "node 'r' (Reshape): ..."} : tensor<2xi64>, tensor<i1>
    ```
  }];
  let arguments = (ins 1DTensorOf<[I64]>:$values, 0DTensorOf<[I1]>:$valid,
                       DenseI64ArrayAttr:$symbols, StrAttr:$check);
  let results = (outs 1DTensorOf<[I64]>:$result);
  let assemblyFormat = [{
    $values `,` $valid attr-dict `:` type($values) `,` type($valid)
  }];
  let hasVerifier = 1;
}

def Kiln_RangeOp : Kiln_Op<"range", [Pure]> {
  let summary = "arithmetic sequence of symbolic length";
  let description = [{
    `result[i] = start + i * step` for `i` in `[0, size)`. `start` and `size`
    are one-result maps over the function's symbols.

    ```mlir
    %pos = kiln.range {start = affine_map<()[s0, s1, s2] -> (s2)>,
                       size = affine_map<()[s0, s1, s2] -> (s1)>, step = 1 : i64}
        : tensor<?xi64>
    ```
  }];
  let arguments = (ins AffineMapAttr:$start, AffineMapAttr:$size, I64Attr:$step);
  let results = (outs 1DTensorOf<[I64, I32, F32]>:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Kiln_BinaryOp<string mnemonic, list<Trait> traits = []> :
    Kiln_Op<mnemonic, !listconcat(traits, [Pure, ResultsBroadcastableShape])> {
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
  let description = [{
    Elementwise with numpy broadcasting. A `?` extent broadcasts only against
    an equal symbolic extent; the importer proves that before building the op.
  }];
}

class Kiln_ArithBinaryOp<string mnemonic, string text> :
    Kiln_BinaryOp<mnemonic, [Commutative]> {
  let summary = "elementwise " # text;
}
class Kiln_NonCommutativeBinaryOp<string mnemonic, string text> :
    Kiln_BinaryOp<mnemonic> {
  let summary = "elementwise " # text;
}

def Kiln_AddOp : Kiln_ArithBinaryOp<"add", "addition">;
def Kiln_MulOp : Kiln_ArithBinaryOp<"mul", "multiplication">;
def Kiln_MaxOp : Kiln_ArithBinaryOp<"max", "maximum">;
def Kiln_MinOp : Kiln_ArithBinaryOp<"min", "minimum">;
def Kiln_AndOp : Kiln_ArithBinaryOp<"and", "logical and">;
def Kiln_OrOp : Kiln_ArithBinaryOp<"or", "logical or">;
def Kiln_SubOp : Kiln_NonCommutativeBinaryOp<"sub", "subtraction">;
def Kiln_DivOp : Kiln_NonCommutativeBinaryOp<"div", "division (integer: truncating)">;
def Kiln_PowOp : Kiln_NonCommutativeBinaryOp<"pow", "power">;
def Kiln_ModOp : Kiln_NonCommutativeBinaryOp<"mod", "remainder (sign of the divisor for integers, fmod for floats)">;

// Comparisons produce i1 tensors.
def Kiln_EqualOp : Kiln_BinaryOp<"equal", [Commutative]> { let summary = "elementwise =="; }
def Kiln_LessOp : Kiln_BinaryOp<"less"> { let summary = "elementwise <"; }
def Kiln_LessEqualOp : Kiln_BinaryOp<"less_equal"> { let summary = "elementwise <="; }
def Kiln_GreaterOp : Kiln_BinaryOp<"greater"> { let summary = "elementwise >"; }
def Kiln_GreaterEqualOp : Kiln_BinaryOp<"greater_equal"> { let summary = "elementwise >="; }

class Kiln_UnaryOp<string mnemonic, string text> : Kiln_Op<mnemonic,
    [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise " # text;
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "negation">;
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "absolute value">;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "square root">;
def Kiln_RsqrtOp : Kiln_UnaryOp<"rsqrt", "reciprocal square root">;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "exponential">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "natural logarithm">;
def Kiln_ErfOp : Kiln_UnaryOp<"erf", "error function">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "hyperbolic tangent">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "logistic sigmoid">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "max(x, 0)">;
def Kiln_ReciprocalOp : Kiln_UnaryOp<"reciprocal", "1 / x">;
def Kiln_NotOp : Kiln_UnaryOp<"not", "logical not">;
def Kiln_FloorOp : Kiln_UnaryOp<"floor", "floor">;
def Kiln_CeilOp : Kiln_UnaryOp<"ceil", "ceiling">;
def Kiln_RoundOp : Kiln_UnaryOp<"round", "round to nearest, ties to even">;
def Kiln_SinOp : Kiln_UnaryOp<"sin", "sine">;
def Kiln_CosOp : Kiln_UnaryOp<"cos", "cosine">;
def Kiln_SiluOp : Kiln_UnaryOp<"silu", "x * sigmoid(x)">;

def Kiln_GeluOp : Kiln_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `approximate = "none"` is `0.5 x (1 + erf(x / sqrt(2)))`;
    `approximate = "tanh"` is `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_IsNanOp : Kiln_Op<"is_nan", [Pure, SameOperandsAndResultShape]> {
  let summary = "elementwise test for NaN";
  let description = [{
    ONNX `IsNaN`: true where the element is a NaN (an unordered compare with
    itself, whatever fast-math flags later code carries).

    ```mlir
    %m = kiln.is_nan %x : tensor<?x8xf32> -> tensor<?x8xi1>
    ```
  }];
  let arguments = (ins TensorOf<[AnyFloat]>:$input);
  let results = (outs TensorOf<[I1]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_IsInfOp : Kiln_Op<"is_inf", [Pure, SameOperandsAndResultShape]> {
  let summary = "elementwise test for infinities";
  let description = [{
    ONNX `IsInf`: true where the element is +inf (with `detect_positive`) or
    -inf (with `detect_negative`).

    ```mlir
    %m = kiln.is_inf %x {detect_negative = true, detect_positive = true}
        : tensor<4xf32> -> tensor<4xi1>
    ```
  }];
  let arguments = (ins TensorOf<[AnyFloat]>:$input, BoolAttr:$detect_positive,
                       BoolAttr:$detect_negative);
  let results = (outs TensorOf<[I1]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_CastOp : Kiln_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "element type conversion";
  let description = [{
    ONNX `Cast`: float→int truncates toward zero, anything→i1 is `!= 0`.
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_ClipOp : Kiln_Op<"clip", [Pure, SameOperandsAndResultType]> {
  let summary = "clamp to [min, max]";
  let arguments = (ins AnyRankedTensor:$input, F64Attr:$min, F64Attr:$max);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Kiln_WhereOp : Kiln_Op<"where", [Pure, ResultsBroadcastableShape]> {
  let summary = "elementwise select with broadcasting";
  let arguments = (ins TensorOf<[I1]>:$condition, AnyRankedTensor:$on_true,
                       AnyRankedTensor:$on_false);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $condition `,` $on_true `,` $on_false attr-dict `:`
    type($condition) `,` type($on_true) `,` type($on_false) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and normalizations
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"matmul", [Pure]> {
  let summary = "batched matrix multiplication with broadcast batch dims";
  let description = [{
    numpy `matmul` on operands of rank >= 2: `[..., M, K] x [..., K, N]`,
    batch dims broadcast. Accumulates in f32 for floating types.

    ```mlir
    %y = kiln.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x256xf32> -> tensor<?x?x256xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_LinearOp : Kiln_Op<"linear", [Pure]> {
  let summary = "matmul by a weight, plus bias, then an activation";
  let description = [{
    `activation(input · weight + bias)` with input [..., K], weight [K, N]
    and an optional bias [N]; `activation` is `none`, `relu`, `gelu` (erf),
    `gelu_tanh` or `silu`. `kiln-raise-linear` forms it from MatMul, Add and
    the activation ops. On the CPU, with a constant f32 weight, it is one
    call to the packed GEMM kernel that applies bias and activation to each
    output tile while the tile is in cache.

    ```mlir
    %y = kiln.linear %x, %w, %b {activation = "gelu"}
        : tensor<?x?x768xf32>, tensor<768x3072xf32>, tensor<3072xf32> -> tensor<?x?x3072xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       Optional<AnyRankedTensor>:$bias,
                       DefaultValuedStrAttr<StrAttr, "none">:$activation);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_DynamicQuantizeOp : Kiln_Op<"dynamic_quantize", [Pure]> {
  let summary = "ONNX DynamicQuantizeLinear: uint8 values, scale, zero point";
  let description = [{
    Over the whole f32 input: `scale = (max(0, max x) - min(0, min x)) /
    255`, `zero_point = saturate(round(-min(0, min x) / scale))` and
    `output = saturate(round(x / scale) + zero_point)`, rounding to nearest
    even; an all-zero input (scale 0) gives zeros with zero point 0.
    `kiln-raise-quantized-linear` folds it into the `kiln.qlinear` it
    feeds (`quant = "tensor_u8"`) and expands what is left into
    elementwise ops and reductions.

    ```mlir
    %y, %s, %zp = kiln.dynamic_quantize %x
        : tensor<?x768xf32> -> tensor<?x768xui8>, tensor<f32>, tensor<ui8>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$output, AnyRankedTensor:$scale,
                      AnyRankedTensor:$zero_point);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($output) `,` type($scale) `,` type($zero_point)
  }];
  let hasVerifier = 1;
}

def Kiln_QLinearOp : Kiln_Op<"qlinear", [Pure]> {
  let summary = "kiln.linear with an int8 weight and per-column scales";
  let description = [{
    `activation(q(input) · weight * scales + bias)` with input [..., K]
    f32, weight [K, N] int8, scales [N] f32 and an optional bias [N] f32;
    `activation` as in `kiln.linear`. `quant` says how the input enters the
    integer product:
    - `row`: each row quantized symmetrically to int8 at run time
      (max |x| / 127, round to nearest even), times its row scale;
    - `tensor_u8`: the whole input quantized as ONNX's
      DynamicQuantizeLinear does (uint8, asymmetric), times its scale;
    - `none`: no quantization, the f32 input times the dequantized weight
      (weight-only int8);
    - `static_u8`: the whole input quantized with the constant
      `input_scale` s and `input_zero_point` z (in [0, 255]) as ONNX
      QuantizeLinear does, `q = saturate_u8(round(x / s) + z)`, and
      dequantized as `(q - z) * s`. `kiln-raise-quantized-linear` forms
      it from a QuantizeLinear/DequantizeLinear pair on the input (an int8
      one as uint8 with z + 128, which gives the same differences).

    The integer product accumulates in int32. `kiln-quantize` forms it from
    f32 GEMMs with constant weights; on the CPU it is one call to the int8
    GEMM kernel, whose weight panels are packed at compile time.

    ```mlir
    %y = kiln.qlinear %x, %w, %s, %b {activation = "gelu", quant = "row"}
        : tensor<?x768xf32>, tensor<768x3072xi8>, tensor<3072xf32>, tensor<3072xf32> -> tensor<?x3072xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       AnyRankedTensor:$scales,
                       Optional<AnyRankedTensor>:$bias,
                       DefaultValuedStrAttr<StrAttr, "none">:$activation,
                       DefaultValuedStrAttr<StrAttr, "row">:$quant,
                       OptionalAttr<F32Attr>:$input_scale,
                       OptionalAttr<I32Attr>:$input_zero_point);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales (`,` $bias^)? attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_QLinearInt4Op
    : Kiln_Op<"qlinear_int4", [Pure, AttrSizedOperandSegments]> {
  let summary = "kiln.linear with 4-bit weights scaled per group of K";
  let description = [{
    `activation(input · w + bias)` in f32, with input [..., K] f32, the
    4-bit weight [K, N] held one value per i8 element, `group_size` g,
    `scales` [ceil(K / g), N] f32 and optional `zero_points` of the same
    shape:

        w[k, n] = (weight[k, n] - zero_points[k / g, n]) * scales[k / g, n]

    Without zero points the values are signed, in [-8, 7] (symmetric, as
    `kiln-quantize` writes them); with them, unsigned in [0, 15], as ONNX
    Runtime's `MatMulNBits` stores them (its zero points integer or float,
    hence f32 here). K need not be a multiple of g: the last group is
    short. g is a multiple of 8, the nibbles the CPU kernel unpacks at a
    time (`MatMulNBits` block sizes are powers of two from 16). The CPU
    lowering packs the weight two values a byte at compile time and checks
    the value range there; other targets expand the op into a dequantized
    f32 `kiln.matmul` (`kiln-expand-quantized`).

    `quant` says how the input enters the product:
    - `none`: as it is, in f32 (the weights dequantized in the kernel);
    - `row`: each row quantized symmetrically to int8 at run time, as
      `kiln.qlinear`'s `row` mode does (s = max |x| / 127, round to nearest
      even), and `s * sum_k q[k] * w[k, n]`, each group's integer sum exact.

    ```mlir
    %y = kiln.qlinear_int4 %x, %w, %s bias %b {group_size = 32 : i64}
        : tensor<?x768xf32>, tensor<768x3072xi8>, tensor<24x3072xf32>, tensor<3072xf32> -> tensor<?x3072xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       AnyRankedTensor:$scales,
                       Optional<AnyRankedTensor>:$zero_points,
                       Optional<AnyRankedTensor>:$bias,
                       I64Attr:$group_size,
                       DefaultValuedStrAttr<StrAttr, "none">:$activation,
                       DefaultValuedStrAttr<StrAttr, "none">:$quant);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales (`zero_points` $zero_points^)? (`bias` $bias^)? attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_EinsumOp : Kiln_Op<"einsum", [Pure]> {
  let summary = "sum of products over an iteration space of letters";
  let description = [{
    ONNX `Einsum`, with the equation already resolved to one indexing map
    per input and one for the result over the dims of the iteration space
    (one dim per letter, and per dim an ellipsis stands for). A dim repeated
    in an input's map reads a diagonal; a dim absent from the result's map
    is summed over; a constant 0 in an input's map is an extent 1 that
    broadcasts. `result[r] = sum of prod_i inputs[i][map_i(d)]` over the
    dims `d` that agree with `r`; 16-bit floats sum in f32 and round once.

    ```mlir
    // "bij,bjk->bik"
    %r = kiln.einsum %a, %b {indexing_maps = [
        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>,
        affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>,
        affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>]}
        : (tensor<?x4x8xf32>, tensor<?x8x5xf32>) -> tensor<?x4x5xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs,
                       AffineMapArrayAttr:$indexing_maps);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let description = [{
    `exp(x - max(x)) / sum(exp(x - max(x)))` along `axis`, computed in f32.
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_AttentionOp : Kiln_Op<"attention", [Pure]> {
  let summary = "scaled dot-product attention with optional mask, GQA";
  let description = [{
    `softmax(scale * q k^T + mask) v` over the key axis, statistics in f32:

    - `query` [B, H, Sq, D], `key` [B, Hkv, Sk, D], `value` [B, Hkv, Sk, Dv]
      give a result [B, H, Sq, Dv]. Query head `h` reads key/value head
      `h / (H / Hkv)` (grouped-query attention), so `Hkv` must divide `H`;
      both are static.
    - `mask`, when present, is added to the scores and broadcasts to
      [B, H, Sq, Sk] (padding masks as large negative values).
    - `causal` hides key `j` from query `i` when `j > i + Sk - Sq`: with a
      KV cache the queries are the last `Sq` positions.

    The raising pass of the CPU pipeline forms it from exported
    MatMul/Softmax subgraphs; its lowering is the reference that fused
    kernels are checked against.
  }];
  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       AnyRankedTensor:$value,
                       Optional<AnyRankedTensor>:$mask, F32Attr:$scale,
                       UnitAttr:$causal);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` $mask^)? attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_RotaryOp : Kiln_Op<"rotary", [Pure]> {
  let summary = "rotary position embedding, rotate-half form";
  let description = [{
    `x * cos + rotate_half(x) * sin` over the last axis of extent D (static,
    even), where `rotate_half(x) = concat(-x[..., D/2:], x[..., :D/2])` as
    Llama and GPT-NeoX write it; `cos` and `sin` broadcast to `x`.
    `kiln-raise-rotary` forms it from the exported ops.

    ```mlir
    %y = kiln.rotary %q, %cos, %sin
        : tensor<?x16x?x64xf32>, tensor<1x1x?x64xf32>, tensor<1x1x?x64xf32>
        -> tensor<?x16x?x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$cos,
                       AnyRankedTensor:$sin);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin attr-dict `:` type($input) `,` type($cos) `,`
    type($sin) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_LayerNormOp : Kiln_Op<"layer_norm", [Pure]> {
  let summary = "layer normalization over the trailing axes from `axis`";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, statistics in f32
    over the axes `[axis, rank)`. `scale` and `bias` have the normalized
    shape; `bias` is optional.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                       Optional<AnyRankedTensor>:$bias, I64Attr:$axis,
                       F32Attr:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_RMSNormOp : Kiln_Op<"rms_norm", [Pure]> {
  let summary = "root-mean-square normalization over the last axis";
  let description = [{
    `x / sqrt(mean(x^2) + epsilon) * scale`, statistics in f32.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                       F32Attr:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` type($input) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
}

class Kiln_ReduceOp<string mnemonic, string text> : Kiln_Op<mnemonic, [Pure]> {
  let summary = "reduction: " # text;
  let description = [{
    Reduces the listed axes (non-negative, sorted, unique); `keepdims` keeps
    them as extent 1.
  }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$axes,
                       BoolAttr:$keepdims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_CumSumOp : Kiln_Op<"cumsum", [Pure, SameOperandsAndResultType]> {
  let summary = "cumulative sum along one axis";
  let description = [{
    ONNX `CumSum`: `result[.., i, ..] = sum of input[.., j, ..]` over
    `j <= i` (`j < i` with `exclusive`; `j >= i`, `j > i` with `reverse`)
    along `axis` (non-negative).

    ```mlir
    %pos = kiln.cumsum %mask {axis = 1 : i64, exclusive = false, reverse = false}
        : tensor<?x?xi64>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                       BoolAttr:$exclusive, BoolAttr:$reverse);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "sum">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "arithmetic mean">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "maximum">;
def Kiln_ReduceMinOp : Kiln_ReduceOp<"reduce_min", "minimum">;
def Kiln_ReduceProdOp : Kiln_ReduceOp<"reduce_prod", "product">;

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

class Kiln_ArgReduceOp<string mnemonic, string text> : Kiln_Op<mnemonic, [Pure]> {
  let summary = "index of the " # text # " along one axis";
  let description = [{
    ONNX `ArgMax` / `ArgMin`: the position along `axis` (non-negative) of
    the largest (smallest) element, as i64; `keepdims` keeps the axis as
    extent 1. Among equal elements the first wins, or the last with
    `select_last_index`. A NaN wins over every number, as in numpy's
    `argmax` and `argmin`.

    ```mlir
    %i = kiln.arg_max %x {axis = 1 : i64, keepdims = false, select_last_index = false}
        : tensor<?x10xf32> -> tensor<?xi64>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                       BoolAttr:$keepdims, BoolAttr:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_ArgMaxOp : Kiln_ArgReduceOp<"arg_max", "maximum">;
def Kiln_ArgMinOp : Kiln_ArgReduceOp<"arg_min", "minimum">;

def Kiln_TopKOp : Kiln_Op<"top_k", [Pure]> {
  let summary = "the k largest or smallest elements along one axis";
  let description = [{
    ONNX `TopK`: `values` and `indices` have the input's shape with extent
    `k` at `axis`, where `k` is a constant or an expression over the
    function's symbols (a `k` read from tensor data is a bound symbol), and hold the `k` largest elements
    (smallest with `largest = false`) along `axis` with their positions,
    always sorted (largest first, or smallest first). Equal elements come
    in the order of their positions; a NaN comes before every number, as
    in `kiln.arg_max`. Where `k` exceeds a symbolic extent at run time, the
    positions past it get the index 2^63 - 1 (nothing is read out of
    bounds).

    ```mlir
    %v, %i = kiln.top_k %x {axis = 1 : i64, k = affine_map<()[s0] -> (3)>,
                            largest = true}
        : tensor<?x10xf32> -> tensor<?x3xf32>, tensor<?x3xi64>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                       AffineMapAttr:$k, BoolAttr:$largest);
  let results = (outs AnyRankedTensor:$values, RankedTensorOf<[I64]>:$indices);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($values) `,` type($indices)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Kiln_GatherOp : Kiln_Op<"gather", [Pure]> {
  let summary = "gather slices of `data` along `axis` (embedding lookup)";
  let description = [{
    ONNX `Gather`: result shape is `data.shape[:axis] + indices.shape +
    data.shape[axis+1:]`. Negative indices count from the end; an index out of
    range is clamped at run time rather than read out of bounds.
  }];
  let arguments = (ins AnyRankedTensor:$data, TensorOf<[I64, I32]>:$indices,
                       I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $data `[` $indices `]` attr-dict `:` type($data) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_GatherElementsOp : Kiln_Op<"gather_elements", [Pure]> {
  let summary = "gather single elements of `data` along `axis`";
  let description = [{
    ONNX `GatherElements`: `result` has the shape of `indices`, and
    `result[i0, .., ik, ..] = data[i0, .., indices[i0, .., ik, ..], ..]` with
    the index at position `axis`. Negative indices count from the end; an
    index out of range is clamped at run time.

    ```mlir
    %r = kiln.gather_elements %data[%idx] {axis = 1 : i64}
        : tensor<3x4xf32>, tensor<3x2xi64> -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$data, TensorOf<[I64, I32]>:$indices,
                       I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $data `[` $indices `]` attr-dict `:` type($data) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_GatherNDOp : Kiln_Op<"gather_nd", [Pure]> {
  let summary = "gather slices of `data` by index tuples";
  let description = [{
    ONNX `GatherND`: the last dim of `indices` (static, `K`) holds index
    tuples into the dims `batch_dims .. batch_dims + K` of `data`; the
    first `batch_dims` dims of both are shared. The result's shape is
    `indices.shape[:-1] + data.shape[batch_dims + K:]`. Negative indices
    count from the end; an index out of range is clamped at run time.

    ```mlir
    %r = kiln.gather_nd %mask[%idx] {batch_dims = 0 : i64}
        : tensor<?x?xi1>, tensor<?x1x?x?x2xi64> -> tensor<?x1x?x?xi1>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$data, TensorOf<[I64, I32]>:$indices,
                       I64Attr:$batch_dims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $data `[` $indices `]` attr-dict `:` type($data) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_ScatterNDOp : Kiln_Op<"scatter_nd", [Pure,
    AllTypesMatch<["data", "result"]>]> {
  let summary = "copy of `data` with slices replaced or combined by tuples";
  let description = [{
    ONNX `ScatterND`: the last dim of `indices` (static, `K`) holds index
    tuples into the first `K` dims of `data`; `updates` has the shape
    `indices.shape[:-1] + data.shape[K:]`. The result is `data` with each
    addressed slice replaced by its update (`reduction = "none"`) or
    combined with it (`"add"`, `"mul"`, `"max"`, `"min"`), one update after
    the other in row-major order of `indices`, so that repeated tuples
    apply in order. Negative indices count from the end; a tuple with an
    index out of range is skipped.

    ```mlir
    %r = kiln.scatter_nd %data[%idx], %upd {reduction = "add"}
        : tensor<4x4x4xf32>, tensor<2x1xi64>, tensor<2x4x4xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$data, TensorOf<[I64, I32]>:$indices,
                       AnyRankedTensor:$updates,
                       DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $data `[` $indices `]` `,` $updates attr-dict `:` type($data) `,`
    type($indices) `,` type($updates)
  }];
  let hasVerifier = 1;
}

def Kiln_ScatterElementsOp : Kiln_Op<"scatter_elements", [Pure,
    AllTypesMatch<["data", "result"]>]> {
  let summary = "copy of `data` with single elements replaced along `axis`";
  let description = [{
    ONNX `ScatterElements` (and the older `Scatter`): `indices` and
    `updates` have one shape, of the data's rank, and the result is `data`
    with `result[i0, .., indices[i0, .., ik, ..], ..]` replaced by (or
    combined with, as in `kiln.scatter_nd`) `updates[i0, .., ik, ..]`, the
    index at position `axis`, in row-major order of `indices`. Negative
    indices count from the end; an index out of range is skipped.

    ```mlir
    %r = kiln.scatter_elements %data[%idx], %upd {axis = 1 : i64, reduction = "none"}
        : tensor<3x3xf32>, tensor<3x2xi64>, tensor<3x2xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$data, TensorOf<[I64, I32]>:$indices,
                       AnyRankedTensor:$updates, I64Attr:$axis,
                       DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $data `[` $indices `]` `,` $updates attr-dict `:` type($data) `,`
    type($indices) `,` type($updates)
  }];
  let hasVerifier = 1;
}

def Kiln_PadOp : Kiln_Op<"pad", [Pure]> {
  let summary = "pad (or crop) every dim by symbolic amounts";
  let description = [{
    ONNX `Pad`: `pads` holds `2 * rank` extents over the function's
    symbols, the amounts before each dim then after each dim; a negative
    amount crops. `result[o] = input[s]` with `s = o - before` per dim
    where that is inside the input; elsewhere `mode` decides: `"constant"`
    gives `value` (a rank-0 tensor, 0 when absent), `"edge"` the nearest
    element, `"reflect"` the mirror image without repeating the edge
    element, `"wrap"` the element `s mod extent`. Where an input extent is
    0 at run time, the result is all `value` (0 outside constant mode).

    ```mlir
    %r = kiln.pad %x, %v {mode = "constant",
                          pads = affine_map<()[s0] -> (0, 1, 0, 2)>}
        : tensor<?x4xf32>, tensor<f32> -> tensor<?x7xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, Optional<AnyRankedTensor>:$value,
                       StrAttr:$mode, AffineMapAttr:$pads);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input (`,` $value^)? attr-dict `:` type(operands) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure]> {
  let summary = "permute dimensions";
  let description = [{ `result.shape[i] = input.shape[perm[i]]`. }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure]> {
  let summary = "reinterpret a row-major tensor with a symbolic shape";
  let description = [{
    ```mlir
    %r = kiln.reshape %x {shape = affine_map<()[s0, s1] -> (s0, s1, 4, 16)>}
        : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AffineMapAttr:$shape);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_ExpandOp : Kiln_Op<"expand", [Pure]> {
  let summary = "broadcast to a symbolic shape";
  let description = [{
    numpy `broadcast_to`: input extents of 1 (or missing leading dims)
    repeat to `shape`, which is the full result shape.
  }];
  let arguments = (ins AnyRankedTensor:$input, AffineMapAttr:$shape);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure]> {
  let summary = "concatenate along `axis`";
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure]> {
  let summary = "strided slice with symbolic offsets and sizes";
  let description = [{
    Full-rank: `result[i...] = input[offsets + i * strides]`, extents
    `sizes`. Offsets and sizes are maps over the function's symbols; strides
    are constants (negative strides walk backwards from the offset).

    ```mlir
    %m = kiln.slice %bias {offsets = affine_map<()[s0, s1] -> (0, 0, 0, 0)>,
                           sizes = affine_map<()[s0, s1] -> (1, 1, s1, s1)>,
                           strides = array<i64: 1, 1, 1, 1>}
        : tensor<1x1x256x256xi1> -> tensor<1x1x?x?xi1>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AffineMapAttr:$offsets,
                       AffineMapAttr:$sizes, DenseI64ArrayAttr:$strides);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_TriluOp : Kiln_Op<"trilu", [Pure, SameOperandsAndResultType]> {
  let summary = "keep the upper or lower triangle of the last two dims";
  let arguments = (ins AnyRankedTensor:$input, BoolAttr:$upper, I64Attr:$k);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_OPS
