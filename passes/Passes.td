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
    reshape) are read unrepeated. Nothing is raised when a score tensor has
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
  let options = [
    Option<"attentionKernel", "attention-kernel", "bool", "false",
           "Lower f32 kiln.attention to a call of the runtime's fused CPU "
           "kernel instead of the reference linalg ops">
  ];
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
                           "::mlir::memref::MemRefDialect"];
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
