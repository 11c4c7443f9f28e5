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

    `kiln.linear` becomes a `linalg.matmul` followed by one generic marked
    `kiln.epilogue` that adds the bias and applies the activation, for the
    GEMM kernel to absorb. An activation not listed in
    `epilogue-activations` (cuBLASLt has ReLU and tanh-GELU, not erf-GELU or
    SiLU) is left out of that generic and applied by the next one:

    ```
    kiln.linear %x, %w, %b {activation = "silu"}
      => linalg.matmul, generic {kiln.epilogue = {activation = "none",
         bias = true}}, generic (silu)        // epilogue-activations=relu
    ```
  }];
  let options = [
    Option<"attentionKernel", "attention-kernel", "std::string", "\"none\"",
           "Lower f32 kiln.attention to a call of the runtime's fused "
           "kernel instead of the reference linalg ops: none, cpu "
           "(kiln_rt_attention_*, host memory) or cuda "
           "(kiln_cuda_attention_*, device memory; head dims 16, 32, 64, "
           "80, 96 and 128 with equal key and value dims, others keep "
           "the reference ops)">,
    ListOption<"epilogueActivations", "epilogue-activations", "std::string",
               "The kiln.linear activations that the target's GEMM applies "
               "in its epilogue (default: all). Any other follows the "
               "epilogue as an elementwise generic of its own, free to fuse "
               "with what comes next">,
    Option<"kvCacheViews", "kv-cache-views", "bool", "false",
           "Give each input that an output concatenates onto (a decode "
           "graph's past, present = Concat(past, new)) and that output "
           "strided memref types, dense from the concat axis inward, so "
           "that both can be views of one preallocated cache "
           "(kiln_session_run_cached); marks the input kiln.kv_cache = "
           "[output, axis]">
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
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnInterchangeMatmulLoops
    : Pass<"kiln-interchange-matmul-loops", "::mlir::ModuleOp"> {
  let summary = "Put the columns innermost in matmuls that stay loops";
  let description = [{
    A matmul the runtime kernels do not take (integer or f16/bf16 operands)
    becomes loops in its iterator order, (batch,) row, column, k: every
    output element a dot product over k, which LLVM vectorizes with a
    horizontal reduction per element. Interchanged to (batch,) row, k,
    column, the innermost loop walks a row of B and of C with unit stride
    and vectorizes as broadcast-multiply-add without reductions:

    ```
    linalg.matmul ins(%a, %b : memref<?x64xi32>, memref<64x192xi8>) ...
      => linalg.generic {iterator_types = ["parallel", "reduction", "parallel"]} ...
    ```

    f32 matmuls left to loops are left alone, in their order.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
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

    `math.powf` by the constants exporters write (2, 3, 0.5, -1, ...)
    becomes multiplications, `sqrt` or a division (upstream's algebraic
    simplification), which are exact or correctly rounded.
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

def KilnPlanMemory : Pass<"kiln-plan-memory", "::mlir::func::FuncOp"> {
  let summary = "Place a function's intermediate buffers in one arena per "
                "call, sized from the symbolic dims";
  let description = [{
    Runs on bufferized code, after `buffer-deallocation-pipeline`. Every
    `memref.alloc` in the function body whose one `memref.dealloc` sits in
    the same block, with an identity layout, a byte-sized element type and
    sizes computable from the arguments alone, gets a slot of one arena;
    buffers whose lifetimes (alloc to dealloc) do not overlap share a slot.
    At entry the function computes each buffer's size from the dims of its
    arguments, each slot's size as the largest of its buffers (64-byte
    multiples), the slots' offsets and the total, and allocates the arena
    once; every buffer becomes a view of it and the deallocs go:

    ```
    %a = memref.alloc(%s) : memref<?x768xf32>     // dead before %b
    %b = memref.alloc(%s) : memref<?x3072xf32>
      =>
    %arena = memref.alloc(%total) {alignment = 64} : memref<?xi8>
    %a = memref.view %arena[%c0][%s] : memref<?xi8> to memref<?x768xf32>
    %b = memref.view %arena[%c0][%s] : memref<?xi8> to memref<?x3072xf32>
    memref.dealloc %arena : memref<?xi8>
    ```

    Buffers allocated inside loops or conditionals, buffers that escape,
    and those with sizes computed from data stay separate allocations.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnOutlineParallelLoops : Pass<"kiln-outline-parallel-loops",
                                     "::mlir::ModuleOp"> {
  let summary = "Move top-level scf.parallel nests into functions the "
                "runtime's thread pool can split";
  let description = [{
    Generated loops (everything but the GEMM and attention kernels) would
    otherwise run on one core. Each `scf.parallel` directly in a function
    body, with zero-based unit-step outer loops and enough work (symbolic
    bounds, or at least 4096 iterations known statically), becomes a private
    function over a flattened range of its outer loops; its innermost loop
    stays whole in every item so that it vectorizes:

    ```
    scf.parallel (%i, %j, %k) = (0, 0, 0) to (%b, %s, 768) step (1, 1, 1)
      => func.call @__kiln_par_0(%c0, %b * %s, %grain, captures...)
         func.func private @__kiln_par_0(%begin, %end, %grain, ...) {
           scf.for %f = %begin to %end { %i = %f / %s; %j = %f % %s
             scf.for %k = 0 to 768 { body } } }
    ```

    `%grain` gives a chunk at least 16384 elements of work (the inner
    extent times the constant trip counts of nested loops).
    `kiln-lower-parallel-calls` turns the call into
    `kiln_rt_parallel_for` once the module is in the LLVM dialect.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnLowerParallelCalls : Pass<"kiln-lower-parallel-calls",
                                  "::mlir::ModuleOp"> {
  let summary = "Run outlined loop nests through kiln_rt_parallel_for";
  let description = [{
    On the LLVM dialect, after `kiln-outline-parallel-loops` and the
    conversion: the call of each `__kiln_par_N` body becomes a call of the
    runtime's `kiln_rt_parallel_for(begin, end, grain, task, frame)`. The
    captured values (memref descriptors are scalars by now) are stored in a
    frame on the caller's stack; the internal `__kiln_par_N_task` loads them
    and calls the body on the chunk it is given.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

//===----------------------------------------------------------------------===//
// CUDA code generation (codegen/cuda)
//===----------------------------------------------------------------------===//

def KilnCudaDeviceMemory : Pass<"kiln-cuda-device-memory", "::mlir::ModuleOp"> {
  let summary = "Point the host code of a CUDA module at device memory";
  let description = [{
    Runs on the LLVM dialect, after `gpu-to-llvm` and
    `finalize-memref-to-llvm{use-generic-functions=1}`. Outside `gpu.module`s,
    every buffer the host code allocates becomes a buffer of the session's
    device arena, and every constant global it reads (weights, folded
    constants) is read through its device copy, which the runtime uploads on
    the session's first use:

    ```
    %p = llvm.call @_mlir_memref_to_llvm_alloc(%n)
      => %p = llvm.call @kiln_cuda_alloc(%n)
    llvm.call @_mlir_memref_to_llvm_free(%p)
      => llvm.call @kiln_cuda_free(%p)
    %w = llvm.mlir.addressof @weight : !llvm.ptr
      => %h = llvm.mlir.addressof @weight : !llvm.ptr
         %w = llvm.call @kiln_cuda_device_constant(%h, <bytes of @weight>)
    ```

    Host code then only passes device pointers around: to kernel launches
    and to the runtime's cuBLASLt calls.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KilnCudaMatmulToCublasLt : Pass<"kiln-cuda-matmul-to-cublaslt",
                                    "::mlir::ModuleOp"> {
  let summary = "Call cuBLASLt for GEMMs on device memrefs, with epilogues";
  let description = [{
    Runs after bufferization. A plain `linalg.matmul` or
    `linalg.batch_matmul` (no user-defined indexing maps) with an f32
    output and f32, f16 or bf16 operands (f16/bf16: the inputs of a
    mixed-precision GEMM, accumulated in f32) becomes a call to the CUDA
    runtime, which runs it in cuBLASLt. When the output's zeroing comes
    right before (the fill, or copy from a zeroed buffer, that
    `kiln-lower-to-linalg` emits), the zeroing goes and cuBLASLt overwrites
    the output (beta = 0); otherwise it accumulates (beta = 1). The
    `precision` option picks the tensor-core input type of f32 operands
    (fp32 accumulation and storage in every case):

    ```
    linalg.fill ins(%zero) outs(%c)
    linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x256xf32>)
                  outs(%c : memref<?x256xf32>)
      => func.call @kiln_cuda_matmul_f32(%a', %b', %c', %precision, %c0_i32)
         // memref.cast to strided<[?, ?], offset: ?>; fp16 = 1, bf16 = 2,
         // tf32 = 3, fp32 = 0 (runtime/include/kiln/cuda.h); 0 = overwrite
    linalg.matmul ins(%a, %b : memref<?x64xf16>, memref<64x256xf16>)
                  outs(%c : memref<?x256xf32>)
      => func.call @kiln_cuda_matmul_f16(...)  // A, B: CUDA_R_16F (bf16:
         // _bf16, CUDA_R_16BF); CUBLAS_COMPUTE_32F whatever `precision`
    ```

    A zeroed 2-D matmul followed by `kiln.linear`'s epilogue generic (marked
    `kiln.epilogue`) with a bias, ReLU or tanh-GELU becomes one call that
    applies it in cuBLASLt's epilogue and writes the generic's output:

    ```
    linalg.matmul ins(%a, %w) outs(%c)
    linalg.generic {kiln.epilogue = {activation = "gelu_tanh", bias = true}}
        ins(%c, %bias) outs(%d)
      => func.call @kiln_cuda_linear_f32(%a', %w', %bias', %d', %c5_i32,
                                         %precision)
         // KILN_CUDA_EPILOGUE_BIAS | _GELU_TANH: CUBLASLT_EPILOGUE_GELU_BIAS
    ```

    Epilogues with erf-GELU or SiLU stay generics (`kiln-lower-to-linalg`
    moves those activations out of the epilogue on CUDA).
  }];
  let options = [
    Option<"precision", "precision", "std::string", /*default=*/"\"fp16\"",
           "Tensor-core input type: fp16, bf16, tf32 or fp32">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnCudaMemrefCopyToLinalg : Pass<"kiln-cuda-memref-copy-to-linalg",
                                      "::mlir::ModuleOp"> {
  let summary = "Turn memref.copy into linalg.copy so that it runs as a kernel";
  let description = [{
    Bufferization copies between buffers with `memref.copy`, which the CPU
    path lowers to a host memcpy. On CUDA both buffers live on the device, so
    the copy becomes a `linalg.copy` and goes the way of every other linalg
    op, into a kernel:

    ```
    memref.copy %a, %b : memref<?x64xf32> to memref<?x64xf32>
      => linalg.copy ins(%a : memref<?x64xf32>) outs(%b : memref<?x64xf32>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnCudaTileParallelLoops : Pass<"kiln-cuda-tile-parallel-loops",
                                     "::mlir::func::FuncOp"> {
  let summary = "Collapse each outermost scf.parallel to 1-d and tile it "
                "into blocks of threads";
  let description = [{
    `gpu-map-parallel-loops` maps an scf.parallel to the grid and a nested
    one to the threads of a block; the loops that
    `convert-linalg-to-parallel-loops` makes are single nests, so alone they
    would launch one thread per block. This pass collapses every outermost
    scf.parallel into one dimension and splits it into `block-size` threads
    per block (the last block guarded), so that the mapping gives blocks of
    `block-size` threads with consecutive threads on consecutive elements:

    ```
    scf.parallel (%i, %j) = (0, 0) to (%m, 64) step (1, 1) { body(%i, %j) }
      =>
    scf.parallel (%b) = (0) to (%m * 64) step (256) {
      scf.parallel (%t) = (0) to (256) step (1) {
        %l = %b + %t
        scf.if %l < %m * 64 { body(%l floordiv 64, %l mod 64) } } }
    ```

    Reductions stay sequential loops inside a thread (one output element
    per thread). Memory work outside any scf.parallel (a reduction over
    every dim, a rank-0 fill) is wrapped in a one-iteration scf.parallel:
    one thread runs it.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // KILN_PASSES
