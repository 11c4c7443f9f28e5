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
// Lowering
//===----------------------------------------------------------------------===//

def KilnLowerToLinalg : Pass<"kiln-lower-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith and math";
  let description = [{
    Every kiln op becomes destination-style linalg on tensors:

    ```
    kiln.add %a, %b         => linalg.generic {broadcasting indexing maps}
    kiln.matmul %x, %w      => linalg.batch_matmul (collapsed batch dims)
    kiln.softmax %x         => max / exp-sum / divide generics, f32 statistics
    kiln.reshape %x {shape} => tensor.reshape with a shape computed from the
                               function's symbols
    ```

    Symbol values are read once at function entry with `tensor.dim` on the
    argument that binds each symbol (from `kiln.dims`).
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::index::IndexDialect"
  ];
}

def KilnLinalgToMicrokernels : Pass<"kiln-linalg-to-microkernels",
                                    "::mlir::ModuleOp"> {
  let summary = "Call the runtime's GEMM kernels for f32 matmuls on memrefs";
  let description = [{
    Runs after bufferization. A zero fill (or a copy from a buffer that only
    holds zeros, which CSE and bufferization make of merged inits) followed by an f32 `linalg.matmul`
    or `linalg.batch_matmul` on the same output buffer is the pair that
    `kiln-lower-to-linalg` emits for `kiln.matmul`; it becomes one call to the
    runtime's blocked, packed, multi-threaded kernel, which overwrites its
    output:

    ```
    linalg.fill ins(%zero) outs(%c)
    linalg.matmul ins(%a, %b) outs(%c)
      => func.call @kiln_rt_matmul_f32(%a', %b', %c')   // memref.cast to
                                                        // strided<[?, ?]>
    ```

    The callees are declared with `llvm.emit_c_interface`, so the generated
    code calls `_mlir_ciface_kiln_rt_matmul_f32` with memref descriptors
    (runtime/src/kernels/Kernels.h). A matmul that accumulates into data it
    did not zero, or has other element types, stays a linalg op.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnApproximateMath : Pass<"kiln-approximate-math", "::mlir::ModuleOp"> {
  let summary = "Replace f32 erf, tanh and exp with polynomial approximations";
  let description = [{
    libm's scalar `erff`, `tanhf` and `expf` calls keep LLVM from vectorizing
    the GELU and softmax loops around them. MLIR's polynomial approximations
    are plain arithmetic that vectorizes, within a few ulp in f32 (the
    fixture and MiniLM checks hold them to the reference):

    ```
    math.erf %x : f32  =>  arith/math.fma rational approximation
    ```
  }];
  let dependentDialects = ["::mlir::math::MathDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnExpandShapeToReinterpretCast
    : Pass<"kiln-expand-shape-to-reinterpret-cast", "::mlir::ModuleOp"> {
  let summary = "Lower memref.expand_shape with several dynamic sizes in one "
                "group to memref.reinterpret_cast";
  let description = [{
    MLIR 22's `expand-strided-metadata` crashes on an expand_shape whose
    reassociation group holds more than one dynamic size (for example
    `memref<?x64xf32> into memref<?x?x64xf32>`, which every matmul over
    [batch, seq, hidden] produces). This pass handles exactly those before
    it runs: the strides of a group are the source stride of its innermost
    dim times suffix products of the output sizes, and the offset is the
    source's.

    ```
    %r = memref.expand_shape %a [[0, 1], [2]] output_shape [%b, %s, 64]
        : memref<?x64xf32> into memref<?x?x64xf32>
      =>
    %base, %off, %sz:2, %st:2 = memref.extract_strided_metadata %a
    %r = memref.reinterpret_cast %base to offset: [%off],
        sizes: [%b, %s, 64], strides: [%s * 64, 64, 1]
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnFuseElementwise : Pass<"kiln-fuse-elementwise", "::mlir::ModuleOp"> {
  let summary = "Fuse producer-consumer elementwise linalg ops on tensors";
  let description = [{
    Upstream's elementwise fusion without its reshape propagation: that
    part folds the collapse/expand views around a matmul into the matmul,
    turning `linalg.matmul` into a 4-d `linalg.generic` that no longer
    reaches the runtime's GEMM kernel. A producer fuses into its consumer
    when the consumer is its only user.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // KILN_PASSES
