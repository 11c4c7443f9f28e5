//===- Passes.td - CPU code generation passes --------------*- tablegen -*-===//

#ifndef KILN_CODEGEN_CPU_PASSES
#define KILN_CODEGEN_CPU_PASSES

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// CPU code generation (codegen/cpu)
//===----------------------------------------------------------------------===//

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
  let options = [
    Option<"panelColumns", "panel-columns", "int64_t", /*default=*/"32",
           "Columns per panel of the f32 weights packed at compile time: the "
           "runtime's KILN_RT_PACKED_PANEL on the target ISA (32 for x86-64, "
           "16 for aarch64)">
  ];
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

#endif // KILN_CODEGEN_CPU_PASSES
