//===- Passes.td - Kiln pass declarations ------------------*- tablegen -*-===//

#ifndef KILN_PASSES
#define KILN_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Kiln-level transformations
//===----------------------------------------------------------------------===//

def KilnCanonicalizeShapes : Pass<"kiln-canonicalize-shapes",
                                  "::mlir::func::FuncOp"> {
  let summary = "Fold shape-only kiln ops";
  let description = [{
    Removes data movement that does not move data once shapes are symbolic:

    ```
    reshape(reshape(x, s1), s2)      => reshape(x, s2)
    reshape(x, shape(x))             => x
    transpose(transpose(x, p), q)    => transpose(x, p o q)
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def KilnRaiseAttention : Pass<"kiln-raise-attention", "::mlir::func::FuncOp"> {
  let summary = "Raise exported scaled-dot-product attention to kiln.attention";
  let description = [{
    Finds the attention that exporters write out op by op (passes/
    RaiseAttention.cpp lists the forms) and replaces it with one op that the
    backends run as a fused kernel:

    ```
    s = matmul(q * c1, transpose(k) * c2) / c3      // [B, H, Sq, Sk]
    s = where(causal, s, -big) + mask               // optional, any order
    out = matmul(softmax(s, axis = 3), v)
      => out = kiln.attention q, k, v, mask {scale = c1 * c2 / c3, causal}
    ```

    `causal` is set only when the condition provably hides key j from query
    i exactly when j > i + Sk - Sq (a slice of a lower-triangular table, or
    a comparison of position ranges, as GPT-2 and Llama exports write it).
    Keys and values repeated for grouped-query heads (reshape, expand,
    reshape) are read unrepeated. The SDPA decomposition of the dynamo
    exporter transposes the keys with batch and heads merged
    (reshape, transpose [0, 2, 1], reshape), which reads as the keys
    themselves, and guards the probabilities with where(is_nan(p), 0, p),
    which goes where the mask is finite (then no row is NaN) and otherwise
    follows the attention as where(is_nan(out), 0, out): a row hidden
    everywhere is NaN in both. Nothing is raised when a score tensor has
    another user, the softmax is not over the keys, a factor is not a
    constant scalar, or the mask would broadcast the scores to a larger
    shape.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let statistics = [
    Statistic<"numRaised", "raised", "Attention subgraphs raised">
  ];
}

def KilnRaiseRotary : Pass<"kiln-raise-rotary", "::mlir::func::FuncOp"> {
  let summary = "Raise the exported rotate-half rotary embedding to kiln.rotary";
  let description = [{
    Llama-style exports apply rotary position embeddings as seven ops with
    two slices and a concat in between, which no elementwise fusion crosses.
    The raised op lowers to one loop nest:

    ```
    y = x * cos + concat(-x[..., D/2:], x[..., :D/2]) * sin
      => y = kiln.rotary x, cos, sin
    ```

    Nothing is raised when the halves are swapped or not exactly half, the
    concat is not on the last axis, an intermediate has another user, or a
    table would broadcast x to a larger shape.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let statistics = [
    Statistic<"numRaised", "raised", "Rotary embeddings raised">
  ];
}

//===----------------------------------------------------------------------===//
// Raising: exported decompositions back to one kiln op
//
// Each pattern fires only when every intermediate of the decomposition has
// no other use, the constants are the operator's own (within f32 rounding)
// and the element type is f32, so the raised op computes what the graph
// did. Operands of commutative ops match in either order.
//===----------------------------------------------------------------------===//

def KilnRaiseGelu : Pass<"kiln-raise-gelu", "::mlir::func::FuncOp"> {
  let summary = "Raise exported GELU subgraphs to kiln.gelu";
  let description = [{
    The erf form (BERT) and the tanh form (GPT-2), the three factors of the
    product in any order and association:

    ```
    x * 0.5 * (1 + erf(x / 1.4142135))            => kiln.gelu %x
    x * 0.5 * (1 + erf(x * 0.70710677))           => kiln.gelu %x
    0.5 * x * (1 + tanh(0.7978846 * (x + 0.044715 * pow(x, 3))))
                                                  => kiln.gelu %x {approximate = "tanh"}
    ```

    `pow(x, 3)` may also be `x * x * x` in either association.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def KilnRaiseLayerNorm : Pass<"kiln-raise-layer-norm", "::mlir::func::FuncOp"> {
  let summary = "Raise LayerNorm decompositions to kiln.layer_norm";
  let description = [{
    What exporters write below opset 17, over trailing keepdims axes
    `[axis, rank)`:

    ```
    d = x - mean(x)
    d / sqrt(mean(d * d) + eps) * scale + bias  => kiln.layer_norm %x, %scale, %bias
    ```

    `d * d` may be `pow(d, 2)`; the division may be a multiplication by
    `reciprocal(sqrt)`, `1 / sqrt` or `rsqrt`; the bias is optional.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def KilnRaiseLinear : Pass<"kiln-raise-linear", "::mlir::func::FuncOp"> {
  let summary = "Raise MatMul + bias (+ activation) to kiln.linear";
  let description = [{
    For a constant f32 [K, N] weight and a constant [N] bias, so that the CPU
    GEMM applies bias and activation to each output tile while it is in
    cache (kiln-linalg-to-microkernels):

    ```
    matmul(x, w) + b                  => kiln.linear %x, %w, %b
    gelu(matmul(x, w) + b)            => kiln.linear %x, %w, %b {activation = "gelu"}
    silu(matmul(x, w))                => kiln.linear %x, %w {activation = "silu"}
    relu(reshape(matmul(x, w) + b))   => reshape(kiln.linear %x, %w, %b {activation = "relu"})
    ```

    Runs after the GELU and SiLU raising, whose ops it absorbs.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def KilnRaiseQuantizedLinear
    : Pass<"kiln-raise-quantized-linear", "::mlir::func::FuncOp"> {
  let summary = "Raise ONNX Runtime's dynamic and QDQ int8 MatMuls to kiln.qlinear";
  let description = [{
    `onnxruntime.quantization.quantize_dynamic` writes each weight MatMul
    as DynamicQuantizeLinear, MatMulInteger, Cast and a Mul by both scales,
    then the bias Add. For an int8 constant weight (symmetric: no weight
    zero point, or a zero one) with an f32 scale per tensor or per column:

    ```
    %q, %s, %zp = kiln.dynamic_quantize %x
    %a = kiln.sub (kiln.cast %q : i32), (kiln.cast %zp : i32)
    %m = kiln.matmul %a, %w_i8                       // int32
    %y = kiln.mul (kiln.cast %m : f32), (kiln.mul %s, %w_scale)
    %z = kiln.add %y, %bias
      => %z = kiln.qlinear %x, %w_i8, %w_scale, %bias {quant = "tensor_u8"}
    ```

    The kernel computes the same int32 products and rescale. A
    `kiln.dynamic_quantize` still read by anything else afterwards (a uint8
    weight with a zero point, a MatMulInteger without the activation's
    zero point) is expanded into Kiln's elementwise ops and reductions.

    `quantize_static` in the QDQ format writes QuantizeLinear and
    DequantizeLinear on the activation and DequantizeLinear on the weight.
    With a constant scalar scale and zero point on the activation, and an
    int8 constant weight as above:

    ```
    %q = kiln.cast (kiln.clip (kiln.add (kiln.round (kiln.div %x, %s)), %zp))
    %a = kiln.mul (kiln.sub (kiln.cast %q : f32), %zp), %s
    %m = kiln.matmul %a, (kiln.mul (kiln.cast %w_i8 : f32), %w_scale)
      => %m = kiln.qlinear %x, %w_i8, %w_scale
             {quant = "static_u8", input_scale = s, input_zero_point = zp}
    ```

    An int8 activation goes in as uint8 with its zero point plus 128. A
    weight scaled along K (axis 0), a uint8 weight or one with nonzero zero
    points, and
    matmuls of two activations stay as they are.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def KilnRaiseRMSNorm : Pass<"kiln-raise-rms-norm", "::mlir::func::FuncOp"> {
  let summary = "Raise RMSNorm decompositions to kiln.rms_norm";
  let description = [{
    Llama/T5 style, statistics over the last axis:

    ```
    w * (x / sqrt(mean(x * x) + eps))            => kiln.rms_norm %x, %w
    w * (x * rsqrt(mean(pow(x, 2)) + eps))       => kiln.rms_norm %x, %w
    w * cast(x32 * (1 / sqrt(mean(x32 * x32) + eps))), x32 = cast(x)
                                                 => kiln.rms_norm %x, %w
    ```

    The reciprocal may also be `reciprocal(sqrt)` or `1 / sqrt`. The cast
    form (f16/bf16 models that compute the statistics in f32) raises to the
    narrow type; kiln.rms_norm computes in f32 anyway. The tail of a
    LayerNorm decomposition is an RMSNorm of the centered values, so the
    pipeline runs kiln-raise-layer-norm first.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def KilnRaiseSilu : Pass<"kiln-raise-silu", "::mlir::func::FuncOp"> {
  let summary = "Raise x * sigmoid(x) to kiln.silu";
  let description = [{
    ```
    x * sigmoid(x)  => kiln.silu %x
    ```

    SwiGLU, `silu(gate) * up`, needs no op of its own: the silu and the
    multiplication lower to elementwise generics that kiln-fuse-elementwise
    makes one loop nest.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

//===----------------------------------------------------------------------===//
// Precision
//===----------------------------------------------------------------------===//

def KilnMixedPrecision : Pass<"kiln-mixed-precision", "::mlir::ModuleOp"> {
  let summary = "Give f32 GEMMs f16 or bf16 operands with an f32 result";
  let description = [{
    Runs after the raising passes. Every `kiln.matmul` and `kiln.linear`
    whose operands and result are f32 reads its two GEMM operands in
    `type` and keeps its f32 result, which it accumulates in f32:

    ```
    kiln.matmul %x, %w : tensor<?x64xf32>, tensor<64x256xf32> -> tensor<?x256xf32>
      => %xh = kiln.cast %x : tensor<?x64xf32> -> tensor<?x64xf16>
         %wh = kiln.constant dense_resource<w_f16> : tensor<64x256xf16>
         kiln.matmul %xh, %wh : tensor<?x64xf16>, tensor<64x256xf16> -> tensor<?x256xf32>
    ```

    Constant operands are converted at compile time (round to nearest even;
    f16 overflows to inf, NaNs stay NaNs), one at a time, and the f32
    original is freed as soon as nothing reads it, so the artifact stores
    the weight in half the bytes and compile memory stays near one f32 copy
    of the weights. Other operands get one `kiln.cast` per value, which the
    elementwise fusion can merge into an elementwise producer. A kiln.linear's
    bias and activation stay f32, as do normalization statistics, softmax,
    attention, reductions and the model's inputs and outputs.

    Nothing changes for GEMMs on other types (integer, f16 or f64 models).
    A GEMM with a constant operand that has finite values beyond f16's
    range (|x| > 65504) stays f32, with a warning.
  }];
  let options = [
    Option<"elementType", "type", "std::string", /*default=*/"\"f16\"",
           "Operand type of the GEMMs: f16 or bf16">
  ];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let statistics = [
    Statistic<"numNarrowed", "narrowed", "GEMMs given narrow operands">,
    Statistic<"numWeights", "weights", "Constant operands converted">
  ];
}

def KilnKvCacheType : Pass<"kiln-kv-cache-type", "::mlir::func::FuncOp"> {
  let summary = "Keep a decode graph's KV cache in bf16 or f8E4M3FN";
  let description = [{
    Every f32 KV-cache pair of the function (an output present = Concat(past,
    new) of an input past along one axis, as decode graphs with past inputs
    write it) becomes a bf16 input and a bf16 output, with casts where the
    f32 values were read and written:

    ```
    func @main(%past: tensor<?x12x?x64xf32>, ...) -> tensor<?x12x?x64xf32>
      %present = kiln.concat %past, %new {axis = 2}
      => func @main(%past: tensor<?x12x?x64xbf16>, ...) -> tensor<?x12x?x64xbf16>
         %wide = kiln.cast %past : ... xbf16 -> ... xf32
         %present = kiln.concat %wide, %new {axis = 2}
         %narrow = kiln.cast %present : ... xf32 -> ... xbf16
    ```

    The cache then takes half the memory, and a decode step reads half the
    bytes where attention over it is the fused CPU kernel: that lowering
    (kiln_rt_attention_append_bf16) reads the bf16 past and writes the bf16
    present in place, rounding the new rows to nearest even, and widens the
    keys and values to f32 in each work item; everything else stays f32.
    Elsewhere the casts lower as elementwise ops. Run before the model's
    signature is captured, so that the artifact's past inputs and present
    outputs are bf16 (kilnc --kv-cache-type=bf16). With type=f8e4m3fn the
    cache is 8-bit floats (a quarter of f32's bytes; the new rows rounded
    to nearest even and saturated at +-448, kiln_rt_attention_append_f8).
    Pairs of other element types are left as they are.
  }];
  let options = [
    Option<"elementType", "type", "std::string", /*default=*/"\"bf16\"",
           "Element type of the cache: bf16 or f8e4m3fn">
  ];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let statistics = [
    Statistic<"numPairs", "pairs", "KV-cache pairs given the cache's type">
  ];
}

def KilnExpandQuantized
    : Pass<"kiln-expand-quantized", "::mlir::func::FuncOp"> {
  let summary = "kiln.qlinear, kiln.qlinear_int4 and kiln.dynamic_quantize "
                "in Kiln's generic ops";
  let description = [{
    For targets without the quantized GEMM kernels: each `kiln.qlinear` becomes
    the same integer product and rescale in Kiln's ops. `row`: the per-row
    scale `max |x| / 127`, `round(x / scale)` cast to i32, an integer
    `kiln.matmul` by the int8 weight, the f32 product times the row scale
    and the column scales; `tensor_u8`: ONNX's DynamicQuantizeLinear, the
    zero point subtracted, the integer matmul and the rescale; `none`: an
    f32 matmul by the dequantized weight. Then bias and activation.

    Each `kiln.qlinear_int4` becomes an f32 matmul by its dequantized
    weight, `(q - zp[k / g]) * scale[k / g]`, the group rows gathered by a
    constant index per row of K:

    ```
    kiln.qlinear_int4 %x, %q, %s zero_points %zp {group_size = 32}
        : tensor<?x64xf32>, tensor<64x8xi8>, tensor<2x8xf32>, tensor<2x8xf32>
      => %i = kiln.constant dense<[0, .., 0, 1, .., 1]> : tensor<64xi64>
         %w = kiln.mul (kiln.sub (kiln.cast %q), %zp[%i]), %s[%i]
         kiln.matmul %x, %w : tensor<?x64xf32>, tensor<64x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def KilnFuseQLinearSiblings
    : Pass<"kiln-fuse-qlinear-siblings", "::mlir::func::FuncOp"> {
  let summary = "Fuse kiln.qlinear ops that read one activation";
  let description = [{
    Attention's q, k and v projections and SwiGLU's gate and up read the
    same activation. `kiln.qlinear` ops with one input, quantization (`row`
    or `tensor_u8`) and activation, and constant weights, scales and
    biases, become one `kiln.qlinear` over the concatenated columns and a
    `kiln.slice` per original result:

    ```
    %q = kiln.qlinear %x, %wq, %sq, %bq : ... -> tensor<?x?x768xf32>
    %k = kiln.qlinear %x, %wk, %sk, %bk : ... -> tensor<?x?x768xf32>
      => %qk = kiln.qlinear %x, %wqk, %sqk, %bqk : ... -> tensor<?x?x1536xf32>
         %q = kiln.slice %qk {offsets = (0, 0, 0), sizes = (s0, s1, 768)}
         %k = kiln.slice %qk {offsets = (0, 0, 768), sizes = (s0, s1, 768)}
    ```

    The input is quantized once and the GEMM is wider; the rows'
    quantization does not depend on the weights and each output column is
    its own dot product, so the results are bit for bit those of the
    separate ops. A missing bias among biased siblings becomes zeros.
    Weight-only ops (`quant = "none"`) share nothing and stay.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let statistics = [
    Statistic<"numFused", "fused", "Groups of sibling kiln.qlinear fused">
  ];
}

def KilnQuantize : Pass<"kiln-quantize", "::mlir::ModuleOp"> {
  let summary = "Give f32 GEMMs with constant weights int8 or int4 weights";
  let description = [{
    Runs after the raising passes. Every `kiln.linear`, and every
    `kiln.matmul` by a constant f32 [K, N] weight, becomes a `kiln.qlinear`
    with the weight quantized per output column, symmetrically:
    `scale[n] = max_k |w[k, n]| / 127`, `q = round(w / scale)` (nearest
    even), so that `q * scale` is within half a step of `w`:

    ```
    kiln.linear %x, %w, %b {activation = "gelu"}
        : tensor<?x768xf32>, tensor<768x3072xf32>, tensor<3072xf32> -> ...
      => %q = kiln.constant dense_resource<w_q8> : tensor<768x3072xi8>
         %s = kiln.constant dense<...> : tensor<3072xf32>
         kiln.qlinear %x, %q, %s, %b {activation = "gelu", quant = "row"}
    ```

    `mode` picks how activations enter the product: `int8-dynamic`
    quantizes each row at run time (`quant = "row"`), `int8-weight` keeps
    them f32 (`quant = "none"`). `int4-weight` gives a `kiln.qlinear_int4`
    instead, f32 activations, the weight quantized symmetrically to 4 bits
    per group of `group-size` rows of K and per column:
    `scale[g, n] = e / -8` for the value e of largest magnitude among
    `w[k in g, n]` (as ONNX Runtime's MatMulNBits quantizer does: e becomes
    -8 and every level is used), `q = round(w / scale)` clamped to [-8, 7]:

    ```
    kiln.linear %x, %w, %b : tensor<?x768xf32>, tensor<768x3072xf32>, ...
      => %q = kiln.constant dense_resource<w_q4> : tensor<768x3072xi8>
         %s = kiln.constant dense<...> : tensor<24x3072xf32>
         kiln.qlinear_int4 %x, %q, %s bias %b {group_size = 32 : i64}
    ```

    `int4-dynamic` gives the same 4-bit weights with the activations
    quantized per row at run time (`quant = "row"`), so that the kernel
    multiplies in int8; it also switches the `kiln.qlinear_int4` ops an
    imported model already has (ONNX Runtime's MatMulNBits) to `row`,
    except those `exclude` names.

    The f32 weight is freed as soon as nothing reads it. LayerNorm,
    RMSNorm, softmax, attention and every op that is not a GEMM by a
    constant stay f32.

    Left alone: GEMMs whose weight is not a constant (attention's q·k),
    batched weights, non-f32 GEMMs, a weight with a NaN or an infinity
    (warned), and the GEMMs `exclude` names: an entry is an op kind
    (`linear`, `matmul`, `qlinear_int4`) or text contained in the ONNX node
    name of the GEMM (`lm_head` excludes `/lm_head/MatMul`).
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"int8-dynamic\"",
           "int8-dynamic (activations quantized per row at run time), "
           "int8-weight (int8 weights, f32 activations), int4-weight "
           "(4-bit weights scaled per group, f32 activations) or "
           "int4-dynamic (4-bit weights, activations quantized per row)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "int4-weight, int4-dynamic: rows of K that share a scale, a "
           "multiple of 8">,
    ListOption<"exclude", "exclude", "std::string",
               "GEMMs to keep in f32: op kinds (linear, matmul, "
               "qlinear_int4) or text in "
               "their ONNX node names">
  ];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let statistics = [
    Statistic<"numQuantized", "quantized", "GEMMs given quantized weights">,
    Statistic<"numExcluded", "excluded", "GEMMs excluded by name or kind">
  ];
}

#endif // KILN_PASSES
