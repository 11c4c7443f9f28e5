// RUN: kiln-opt %s -kiln-cuda-matmul-to-cublaslt | FileCheck %s
// RUN: kiln-opt %s -kiln-cuda-matmul-to-cublaslt=precision=bf16 | FileCheck %s --check-prefix=BF16
// RUN: kiln-opt %s -kiln-cuda-matmul-to-cublaslt=precision=tf32 | FileCheck %s --check-prefix=TF32
// RUN: not kiln-opt %s -kiln-cuda-matmul-to-cublaslt=precision=int4 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: unknown precision 'int4' (expected fp16, bf16, tf32 or fp32)

// CHECK-DAG: func.func private @kiln_cuda_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_cuda_batch_matmul_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_cuda_linear_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_cuda_matmul_f16(memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_cuda_batch_matmul_bf16(memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @kiln_cuda_linear_f16(memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32, i32) attributes {llvm.emit_c_interface}

// The zero fill right before is dead: cuBLASLt overwrites (accumulate = 0).
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf32>, %[[B:.*]]: memref<64x256xf32>, %[[C:.*]]: memref<?x256xf32>)
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[CA:.*]] = memref.cast %[[A]] : memref<?x64xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[CB:.*]] = memref.cast %[[B]]
// CHECK-DAG: %[[CC:.*]] = memref.cast %[[C]]
// CHECK-DAG: %[[FP16:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[OVERWRITE:.*]] = arith.constant 0 : i32
// CHECK: call @kiln_cuda_matmul_f32(%[[CA]], %[[CB]], %[[CC]], %[[FP16]], %[[OVERWRITE]])
// CHECK-NOT: linalg.matmul
// BF16-LABEL: func.func @matmul
// BF16: arith.constant 2 : i32
// TF32-LABEL: func.func @matmul
// TF32: arith.constant 3 : i32
func.func @matmul(%a: memref<?x64xf32>, %b: memref<64x256xf32>, %c: memref<?x256xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x256xf32>)
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x256xf32>) outs(%c : memref<?x256xf32>)
  return
}

// Without a zeroing it accumulates into what the output holds.
// CHECK-LABEL: func.func @batch_matmul
// CHECK-DAG: %[[FP16:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[ACCUMULATE:.*]] = arith.constant 1 : i32
// CHECK: call @kiln_cuda_batch_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[FP16]], %[[ACCUMULATE]])
// CHECK-NOT: linalg.batch_matmul
func.func @batch_matmul(%a: memref<?x4x?xf32>, %b: memref<?x?x16xf32>, %c: memref<?x4x16xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<?x4x?xf32>, memref<?x?x16xf32>) outs(%c : memref<?x4x16xf32>)
  return
}

// A matmul with its own indexing maps (here a transposed B) is not a plain
// contraction: it stays, and becomes a kernel like any linalg op.
// CHECK-LABEL: func.func @transposed_b_stays
// CHECK: linalg.matmul
// CHECK-NOT: call @kiln_cuda
func.func @transposed_b_stays(%a: memref<8x16xf32>, %b: memref<32x16xf32>, %c: memref<8x32xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<8x16xf32>, memref<32x16xf32>) outs(%c : memref<8x32xf32>)
  return
}

// Not f32 (an integer matmul of the int8 path): stays.
// CHECK-LABEL: func.func @i32_stays
// CHECK: linalg.matmul
// CHECK-NOT: call @kiln_cuda
func.func @i32_stays(%a: memref<8x16xi32>, %b: memref<16x32xi32>, %c: memref<8x32xi32>) {
  linalg.matmul ins(%a, %b : memref<8x16xi32>, memref<16x32xi32>) outs(%c : memref<8x32xi32>)
  return
}

// On tensors (before bufferization): stays.
// CHECK-LABEL: func.func @tensor_stays
// CHECK: linalg.matmul
// CHECK-NOT: call @kiln_cuda
func.func @tensor_stays(%a: tensor<8x16xf32>, %b: tensor<16x32xf32>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x32xf32>) outs(%c : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// kiln.linear's epilogue generic after a zeroed matmul goes into cuBLASLt's
// epilogue: one call writes the generic's output, and the generic, the
// zeroing and the matmul's own buffer go. Bias = 1, ReLU = 2, tanh-GELU = 4
// (KILN_CUDA_EPILOGUE_*): GELU_BIAS here.
// CHECK-LABEL: func.func @linear_gelu_tanh_bias
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<64x256xf32>, %[[B:.*]]: memref<256xf32>, %[[OUT:.*]]: memref<?x256xf32>)
// CHECK-NOT: memref.alloc(
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[CB:.*]] = memref.cast %[[B]] : memref<256xf32> to memref<?xf32, strided<[?], offset: ?>>
// CHECK-DAG: %[[CO:.*]] = memref.cast %[[OUT]]
// CHECK-DAG: %[[GELU_BIAS:.*]] = arith.constant 5 : i32
// CHECK-DAG: %[[FP16:.*]] = arith.constant 1 : i32
// CHECK: call @kiln_cuda_linear_f32(%{{.*}}, %{{.*}}, %[[CB]], %[[CO]], %[[GELU_BIAS]], %[[FP16]])
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.matmul
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @linear_gelu_tanh_bias(%a: memref<?x64xf32>, %w: memref<64x256xf32>, %b: memref<256xf32>, %out: memref<?x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %m = memref.dim %a, %c0 : memref<?x64xf32>
  %c = memref.alloc(%m) : memref<?x256xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<?x256xf32>)
  linalg.matmul ins(%a, %w : memref<?x64xf32>, memref<64x256xf32>) outs(%c : memref<?x256xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<?x256xf32>, memref<256xf32>) outs(%out : memref<?x256xf32>)
      attrs = {kiln.epilogue = {activation = "gelu_tanh", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  }
  return
}

// Bias alone (BIAS = 1) and bias + ReLU (RELU_BIAS = 3).
// CHECK-LABEL: func.func @linear_bias_and_relu_bias
// CHECK: %[[BIAS:.*]] = arith.constant 1 : i32
// CHECK: call @kiln_cuda_linear_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]], %{{.*}})
// CHECK: %[[RELU_BIAS:.*]] = arith.constant 3 : i32
// CHECK: call @kiln_cuda_linear_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[RELU_BIAS]], %{{.*}})
// CHECK-NOT: linalg.generic
func.func @linear_bias_and_relu_bias(%a: memref<8x16xf32>, %w: memref<16x32xf32>, %b: memref<32xf32>, %out: memref<8x32xf32>, %out2: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<8x32xf32>, memref<32xf32>) outs(%out : memref<8x32xf32>)
      attrs = {kiln.epilogue = {activation = "none", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  %c2 = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c2 : memref<8x32xf32>)
  linalg.matmul ins(%a, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%c2 : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c2, %b : memref<8x32xf32>, memref<32xf32>) outs(%out2 : memref<8x32xf32>)
      attrs = {kiln.epilogue = {activation = "relu", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// ReLU without a bias, in place: an empty bias memref stands for none
// (RELU = 2).
// CHECK-LABEL: func.func @linear_relu_in_place
// CHECK-DAG: %[[NOBIAS:.*]] = memref.alloca() : memref<0xf32>
// CHECK-DAG: %[[CN:.*]] = memref.cast %[[NOBIAS]]
// CHECK-DAG: %[[RELU:.*]] = arith.constant 2 : i32
// CHECK: call @kiln_cuda_linear_f32(%{{.*}}, %{{.*}}, %[[CN]], %{{.*}}, %[[RELU]], %{{.*}})
// CHECK-NOT: linalg.generic
func.func @linear_relu_in_place(%a: memref<8x16xf32>, %w: memref<16x32xf32>, %c: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x32xf32>) outs(%c : memref<8x32xf32>)
      attrs = {kiln.epilogue = {activation = "relu", bias = false}} {
  ^bb0(%x: f32, %o: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// Must not fire: cuBLASLt's GELU is the tanh form, so an erf-GELU (or SiLU)
// epilogue stays a generic after a plain matmul call. On the CUDA target
// kiln-lower-to-linalg keeps those activations out of the epilogue, which
// then carries only the bias; this is the guard if one gets here.
// CHECK-LABEL: func.func @linear_gelu_erf_stays
// CHECK: call @kiln_cuda_matmul_f32
// CHECK: linalg.generic
// CHECK-SAME: kiln.epilogue = {activation = "gelu", bias = true}
// CHECK-NOT: kiln_cuda_linear
func.func @linear_gelu_erf_stays(%a: memref<8x16xf32>, %w: memref<16x32xf32>, %b: memref<32xf32>, %out: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<8x32xf32>, memref<32xf32>) outs(%out : memref<8x32xf32>)
      attrs = {kiln.epilogue = {activation = "gelu", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %e = math.erf %s : f32
    linalg.yield %e : f32
  }
  return
}

// Must not fire: the matmul accumulates into live data (no zeroing), or its
// result is read by something else after it (here a copy).
// CHECK-LABEL: func.func @epilogue_not_absorbed
// CHECK: call @kiln_cuda_matmul_f32
// CHECK: linalg.generic
// CHECK: call @kiln_cuda_matmul_f32
// CHECK: memref.copy
// CHECK: linalg.generic
// CHECK-NOT: kiln_cuda_linear
// CHECK: return
func.func @epilogue_not_absorbed(%a: memref<8x16xf32>, %w: memref<16x32xf32>, %b: memref<32xf32>, %live: memref<8x32xf32>, %out: memref<8x32xf32>, %copy: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.matmul ins(%a, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%live : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%live, %b : memref<8x32xf32>, memref<32xf32>) outs(%out : memref<8x32xf32>)
      attrs = {kiln.epilogue = {activation = "none", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  %c = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  memref.copy %c, %copy : memref<8x32xf32> to memref<8x32xf32>
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<8x32xf32>, memref<32xf32>) outs(%out : memref<8x32xf32>)
      attrs = {kiln.epilogue = {activation = "none", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// Must not fire: the epilogue writes the buffer the matmul reads as its
// input (CSE merged same-shaped empty inits); one kernel doing both would
// overwrite its input while reading it.
// CHECK-LABEL: func.func @epilogue_writes_the_input
// CHECK: call @kiln_cuda_matmul_f32
// CHECK: linalg.generic
// CHECK-NOT: kiln_cuda_linear
// CHECK: return
func.func @epilogue_writes_the_input(%x: memref<8x32xf32>, %w: memref<32x32xf32>, %b: memref<32xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%x, %w : memref<8x32xf32>, memref<32x32xf32>) outs(%c : memref<8x32xf32>)
  %view = memref.cast %x : memref<8x32xf32> to memref<?x32xf32>
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<8x32xf32>, memref<32xf32>) outs(%view : memref<?x32xf32>)
      attrs = {kiln.epilogue = {activation = "none", bias = true}} {
  ^bb0(%v: f32, %y: f32, %o: f32):
    %s = arith.addf %v, %y : f32
    linalg.yield %s : f32
  }
  return
}

// Mixed precision: f16 or bf16 operands with an f32 output (what
// kiln-mixed-precision makes of a GEMM) call the entry points of that
// operand type, which pass CUDA_R_16F / CUDA_R_16BF for A and B, CUDA_R_32F
// for C and D, and compute in CUBLAS_COMPUTE_32F.
// CHECK-LABEL: func.func @matmul_f16
// CHECK-SAME: (%[[A:.*]]: memref<?x64xf16>, %[[B:.*]]: memref<64x256xf16>, %[[C:.*]]: memref<?x256xf32>)
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[CA:.*]] = memref.cast %[[A]] : memref<?x64xf16> to memref<?x?xf16, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[CB:.*]] = memref.cast %[[B]] : memref<64x256xf16> to memref<?x?xf16, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[CC:.*]] = memref.cast %[[C]] : memref<?x256xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: call @kiln_cuda_matmul_f16(%[[CA]], %[[CB]], %[[CC]], %{{.*}}, %{{.*}})
// CHECK-NOT: linalg.matmul
func.func @matmul_f16(%a: memref<?x64xf16>, %b: memref<64x256xf16>, %c: memref<?x256xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<?x256xf32>)
  linalg.matmul ins(%a, %b : memref<?x64xf16>, memref<64x256xf16>) outs(%c : memref<?x256xf32>)
  return
}

// CHECK-LABEL: func.func @batch_matmul_bf16
// CHECK: call @kiln_cuda_batch_matmul_bf16
// CHECK-NOT: linalg.batch_matmul
func.func @batch_matmul_bf16(%a: memref<?x4x?xbf16>, %b: memref<?x?x16xbf16>, %c: memref<?x4x16xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<?x4x?xbf16>, memref<?x?x16xbf16>) outs(%c : memref<?x4x16xf32>)
  return
}

// The epilogue with f16 operands: the bias and the output stay f32.
// CHECK-LABEL: func.func @linear_f16
// CHECK: %[[GELU_BIAS:.*]] = arith.constant 5 : i32
// CHECK: call @kiln_cuda_linear_f16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[GELU_BIAS]], %{{.*}})
// CHECK-NOT: linalg.generic
func.func @linear_f16(%a: memref<8x16xf16>, %w: memref<16x32xf16>, %b: memref<32xf32>, %out: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %w : memref<8x16xf16>, memref<16x32xf16>) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %b : memref<8x32xf32>, memref<32xf32>) outs(%out : memref<8x32xf32>)
      attrs = {kiln.epilogue = {activation = "gelu_tanh", bias = true}} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  }
  return
}

// Must not fire: a 16-bit output (the runtime's GEMMs write f32), operands
// of two types, or 16-bit operands with an f64 output.
// CHECK-LABEL: func.func @half_types_that_stay
// CHECK-NOT: call @kiln_cuda
// CHECK: linalg.matmul
// CHECK: linalg.matmul
// CHECK: linalg.matmul
// CHECK-NOT: call @kiln_cuda
// CHECK: return
func.func @half_types_that_stay(%a: memref<8x16xf16>, %b: memref<16x32xf16>, %bb: memref<16x32xbf16>, %bf: memref<16x32xf32>,
                                %c16: memref<8x32xf16>, %c32: memref<8x32xf32>, %c64: memref<8x32xf64>) {
  linalg.matmul ins(%a, %b : memref<8x16xf16>, memref<16x32xf16>) outs(%c16 : memref<8x32xf16>)
  linalg.matmul ins(%a, %bb : memref<8x16xf16>, memref<16x32xbf16>) outs(%c32 : memref<8x32xf32>)
  linalg.matmul ins(%a, %b : memref<8x16xf16>, memref<16x32xf16>) outs(%c64 : memref<8x32xf64>)
  return
}
