//===- Passes.td - Shared code generation passes -----------*- tablegen -*-===//

#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Lowering and bufferized code, shared by the targets
//===----------------------------------------------------------------------===//

def KilnOutlineSymbolInference
    : Pass<"kiln-outline-symbol-inference", "::mlir::ModuleOp"> {
  let summary = "Move the computation of data symbols into a function of "
                "its own";
  let description = [{
    A model whose shapes depend on tensor data binds its data symbols with
    `kiln.bind_symbols`. The artifact evaluates them before it runs the
    model, so that the caller learns the output shapes and nothing runs on a
    shape that fails its check. This pass clones `@main` into
    `@main_symbols`, which keeps only what the bindings need and returns the
    bound values (in symbol order) and a status: 0, or 1 + the index of the
    first binding whose `valid` is false.

    `@main` loses its bindings and whatever only they used; it takes the
    data symbols as trailing `index` arguments instead
    (`kiln.data_symbols` lists their positions), so its buffer sizes are
    computable at entry like any other.

    ```
    func @main(%x, %shape) {kiln.symbols = ["n", "r.shape[0]"]}
      %v = ... %shape ...
      %b = kiln.bind_symbols %v, %ok {symbols = array<i64: 1>, ...}
      %y = kiln.reshape %x {shape = ()[s0, s1] -> (s1)}
    =>
    func @main(%x, %shape) {kiln.data_symbols = [1], ...}
      %y = kiln.reshape %x {shape = ()[s0, s1] -> (s1)}
    func @main_symbols(%x, %shape) -> (tensor<1xi64>, tensor<i64>)
        {kiln.symbol_inference}
      %v = ... ; %b = kiln.bind_symbols %v, %ok ...
      %status = kiln.where %ok, 0, 1
      return %b, %status
    ```
  }];
}

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
           "[output, axis]">,
    Option<"qlinearKernel", "qlinear-kernel", "bool", "false",
           "Lower kiln.qlinear and kiln.qlinear_int4 to calls of the "
           "runtime's int8 and int4 GEMMs (kiln_rt_qlinear_s8_f32, "
           "kiln_rt_qlinear_s4_f32) with their weights packed at compile "
           "time; without it, both are refused">,
    Option<"normKernel", "norm-kernel", "bool", "false",
           "Lower f32 kiln.layer_norm and kiln.rms_norm whose scale and "
           "bias cover the normalized dims to calls of the runtime's row "
           "kernel (kiln_rt_norm_f32, host memory) instead of linalg "
           "reductions, which stay scalar loops">,
    Option<"indexChecks", "index-checks", "bool", "false",
           "Check the indices of kiln.gather and kiln.gather_elements that "
           "are not constants with a call of the runtime "
           "(kiln_rt_check_indices_*, host memory) before the gather, "
           "which clamps them: an index out of range then fails the run "
           "with KILN_ERROR_INVALID_ARGUMENT instead of reading a clamped "
           "row">,
    Option<"gatherReshapes", "gather-reshapes", "bool", "false",
           "Lower every reshape as an element gather instead of "
           "collapse/expand views, to bisect a view-related problem">
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::index::IndexDialect"
  ];
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
    `memref.alloc` whose one `memref.dealloc` sits in the same block, with
    an identity layout, a byte-sized or i1 element type and sizes computable
    from the arguments alone, gets a slot of one arena; buffers whose
    lifetimes (alloc to dealloc) do not overlap share a slot. A buffer inside
    an `scf.for`, `scf.while` or `scf.if` holds its slot for that whole op of
    the function body, each iteration using it in turn.
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

    Buffers inside parallel loops (whose iterations overlap) or other
    regions, buffers that escape, and those with sizes computed from data
    stay separate allocations; kilnc reports how many
    (codegen/ArenaSize.h).
    The arena's alloc carries the unit attribute `kiln.arena`, by which the
    compile finds the formula to evaluate at the --max-shape bounds
    (codegen/ArenaSize.h).
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // KILN_CODEGEN_PASSES
