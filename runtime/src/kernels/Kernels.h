//===- Kernels.h - Microkernels called from generated code ------*- C++ -*-===//
//
// Generated code calls these through MLIR's `llvm.emit_c_interface`
// convention: `_mlir_ciface_<name>` taking pointers to strided memref
// descriptors. Element (i, j, k) of a rank-3 memref lives at
// `aligned + offset + i*strides[0] + j*strides[1] + k*strides[2]`.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_KERNELS_H
#define KILN_RUNTIME_KERNELS_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_memref3_f32 {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
} kiln_memref3_f32;

typedef struct kiln_memref1_f32 {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} kiln_memref1_f32;

typedef struct kiln_memref2_f32 {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} kiln_memref2_f32;

typedef struct kiln_memref4_f32 {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[4];
  int64_t strides[4];
} kiln_memref4_f32;

// c[m,n] = sum_k a[m,k] * b[k,n], overwriting c; the rank-2 form of the
// batched kernel below, with the same rules.
void _mlir_ciface_kiln_rt_matmul_f32(kiln_memref2_f32 *a, kiln_memref2_f32 *b,
                                     kiln_memref2_f32 *c);

// Columns per panel of a weight pre-packed by the compiler
// (kiln-linalg-to-microkernels): with P = KILN_RT_PACKED_PANEL, w[k, n] of a
// [K, N] weight lives at packed[(n / P) * K * P + k * P + n % P], the last
// panel zero-padded, so packed has ceil(N / P) * P * K elements. P is the
// widest microkernel's NR on the runtime's ISA: 32 for AVX-512 on x86-64, 16
// for NEON on aarch64 (the compiler packs for its target: codegen/cpu/CpuArch).
#if defined(__aarch64__)
#define KILN_RT_PACKED_PANEL 16
#else
#define KILN_RT_PACKED_PANEL 32
#endif

// c[m,n] = sum_k a[m,k] * w[k,n] with w pre-packed as above; overwrites c.
// Few rows (decode) stream each panel once; more use the blocked kernel
// without packing B. A packed size that disagrees with a and c is reported
// to the current execution context and leaves c untouched.
void _mlir_ciface_kiln_rt_matmul_packed_f32(kiln_memref2_f32 *a,
                                            kiln_memref1_f32 *packed,
                                            kiln_memref2_f32 *c);

// Activations of a GEMM epilogue (kiln.linear), applied after the bias.
#define KILN_RT_ACT_NONE 0
#define KILN_RT_ACT_RELU 1
#define KILN_RT_ACT_GELU 2 // 0.5 x (1 + erf(x / sqrt 2))
#define KILN_RT_ACT_GELU_TANH                                                  \
  3                        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
#define KILN_RT_ACT_SILU 4 // x * sigmoid(x)

// c[m,n] = act(sum_k a[m,k] * w[k,n] + bias[n]) with w pre-packed as above;
// overwrites c. bias has N contiguous elements, or none (size 0). The kernel
// applies bias and activation to each output tile as it finishes it, while
// the tile is in cache. Besides the errors of the plain packed kernel, an
// unknown activation or a bias of another size is reported to the current
// execution context and leaves c untouched.
void _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32(kiln_memref2_f32 *a,
                                                     kiln_memref1_f32 *packed,
                                                     kiln_memref1_f32 *bias,
                                                     kiln_memref2_f32 *c,
                                                     int32_t activation);

typedef struct kiln_memref4_bf16 {
  uint16_t *allocated; // bf16 bit patterns
  uint16_t *aligned;
  int64_t offset;
  int64_t sizes[4];
  int64_t strides[4];
} kiln_memref4_bf16;

typedef struct kiln_memref4_f8 {
  uint8_t *allocated; // f8E4M3FN bit patterns
  uint8_t *aligned;
  int64_t offset;
  int64_t sizes[4];
  int64_t strides[4];
} kiln_memref4_f8;

typedef struct kiln_memref2_bf16 {
  uint16_t *allocated; // bf16 bit patterns
  uint16_t *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} kiln_memref2_bf16;

typedef struct kiln_memref1_bf16 {
  uint16_t *allocated;
  uint16_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} kiln_memref1_bf16;

// c[m,n] = sum_k a[m,k] * w[k,n] with bf16 a and w, f32 products summed in
// f32 (kilnc --precision=bf16); overwrites c. The bf16 weight w [K, N] is
// packed by the compiler (kernels/Bf16Packing.h; packed has contiguous
// elements). a may have any strides. Runs on the current context's pool;
// AMX where the CPU and the OS allow it, else AVX-512 BF16, else AVX-512
// (f32 FMAs), else portable loops. As in vdpbf16ps, subnormal inputs and
// results may be flushed to zero. A packed size that disagrees with a and c is
// reported to the current execution context and leaves c untouched.
void _mlir_ciface_kiln_rt_matmul_packed_bf16(kiln_memref2_bf16 *a,
                                             kiln_memref1_bf16 *packed,
                                             kiln_memref2_f32 *c);

// c[m,n] = act(sum_k a[m,k] * w[k,n] + bias[n]), the bf16 product above with
// the epilogue of _mlir_ciface_kiln_rt_matmul_packed_epilogue_f32 (bias of N
// contiguous elements or none, KILN_RT_ACT_* activation), applied to each
// output tile as it is finished. Besides the errors of the plain kernel, an
// unknown activation or a bias of another size is reported to the current
// execution context and leaves c untouched.
void _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(kiln_memref2_bf16 *a,
                                                      kiln_memref1_bf16 *packed,
                                                      kiln_memref1_f32 *bias,
                                                      kiln_memref2_f32 *c,
                                                      int32_t activation);

typedef struct kiln_memref1_i8 {
  int8_t *allocated;
  int8_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} kiln_memref1_i8;

typedef struct kiln_memref1_i64 {
  int64_t *allocated;
  int64_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} kiln_memref1_i64;

typedef struct kiln_memref1_i32 {
  int32_t *allocated;
  int32_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} kiln_memref1_i32;

// Fails the run with KILN_ERROR_INVALID_ARGUMENT (kiln_rt_context's
// reject_input) if an index is outside [-extent, extent), naming it and the
// message `what` (the node, not NUL-terminated), before a gather that would
// clamp it. Without a context it does nothing.
void _mlir_ciface_kiln_rt_check_indices_i64(kiln_memref1_i64 *indices,
                                            int64_t extent,
                                            kiln_memref1_i8 *what);
void _mlir_ciface_kiln_rt_check_indices_i32(kiln_memref1_i32 *indices,
                                            int64_t extent,
                                            kiln_memref1_i8 *what);

// How kiln_rt_qlinear_s8_f32 quantizes its activations a, per call.
#define KILN_RT_QUANT_ROW 0       // per row, symmetric int8: max|a| / 127
#define KILN_RT_QUANT_TENSOR_U8 1 // whole a, ONNX DynamicQuantizeLinear
#define KILN_RT_QUANT_NONE 2      // weights only: f32 a times dequantized w
// Whole a with a given scale and zero point (ONNX QuantizeLinear to uint8):
// kiln_rt_qlinear_static_s8_f32's, not kiln_rt_qlinear_s8_f32's.
#define KILN_RT_QUANT_STATIC_U8 3

// c[m,n] = act(q(a)[m,:] . w[:,n] * sa[m] * scales[n] + bias[n]) with the
// int8 weight w [K, N] packed by the compiler (kernels/Int8Packing.h) and
// the activations quantized as `quant` says, sa their scale (the integer
// product less the zero point times the column sum). bias has N contiguous
// elements or none (size 0); scales has N. Overwrites c. Inconsistent sizes,
// and K over 65536 (where the int32 accumulators could overflow), are
// reported to the current execution context and leave c untouched.
void _mlir_ciface_kiln_rt_qlinear_s8_f32(kiln_memref2_f32 *a,
                                         kiln_memref1_i8 *packed,
                                         kiln_memref1_f32 *scales,
                                         kiln_memref1_f32 *bias,
                                         kiln_memref2_f32 *c,
                                         int32_t activation, int32_t quant);

// kiln_rt_qlinear_s8_f32 with a quantized as one tensor with the constant
// scale and zero point of an ONNX QuantizeLinear to uint8 (q =
// sat_u8(round(a / input_scale) + input_zero), sa = input_scale). A scale
// that is not a positive normal number (what kiln.qlinear's verifier
// accepts) or a zero point outside [0, 255] is reported, as are the sizes
// kiln_rt_qlinear_s8_f32 checks.
void _mlir_ciface_kiln_rt_qlinear_static_s8_f32(
    kiln_memref2_f32 *a, kiln_memref1_i8 *packed, kiln_memref1_f32 *scales,
    kiln_memref1_f32 *bias, kiln_memref2_f32 *c, int32_t activation,
    float input_scale, int32_t input_zero);

// c[m,n] = act(sum_k a[m,k] * w[k,n] + bias[n]) in f32, with the 4-bit
// weight of kiln.qlinear_int4 packed by the compiler (kernels/Int4Packing.h:
// scales, and with zero_points nonzero the zero points' offsets, inside the
// packed bytes) in groups of group_size rows of K, a positive multiple of 8.
// bias has N contiguous elements or none (size 0); a any strides. Overwrites
// c. Runs on the current context's pool and needs no scratch; thread-safe
// for distinct c. An unknown activation, a bad group size, and sizes that
// disagree (a, c, the packed bytes for K, N, group_size and zero_points,
// bias) are reported to the current execution context and leave c
// untouched.
void _mlir_ciface_kiln_rt_qlinear_s4_f32(kiln_memref2_f32 *a,
                                         kiln_memref1_i8 *packed,
                                         kiln_memref1_f32 *bias,
                                         kiln_memref2_f32 *c,
                                         int32_t activation, int32_t group_size,
                                         int32_t zero_points);

// kiln_rt_qlinear_s4_f32 with each row of a quantized to int8 first
// (kiln.qlinear_int4 quant = "row"): s = max |a| / 127, q = round(a / s),
// c = s * sum_k q * w + bias, the integer products exact within each group.
// Takes per-worker scratch from the current context (its own without one);
// the same checks.
void _mlir_ciface_kiln_rt_qlinear_s4_q8_f32(
    kiln_memref2_f32 *a, kiln_memref1_i8 *packed, kiln_memref1_f32 *bias,
    kiln_memref2_f32 *c, int32_t activation, int32_t group_size,
    int32_t zero_points);

// c[i,m,n] = sum_k a[ia,m,k] * b[ib,k,n], overwriting c.
// a: [Ba, M, K], b: [Bb, K, N], c: [Bc, M, N]; Ba and Bb are each 1
// (broadcast) or Bc. Any strides, including transposed views. Inconsistent
// sizes are reported to the current execution context and leave c untouched.
void _mlir_ciface_kiln_rt_batch_matmul_f32(kiln_memref3_f32 *a,
                                           kiln_memref3_f32 *b,
                                           kiln_memref3_f32 *c);

// out = softmax(scale * q k^T + mask) v over the key axis (kiln.attention),
// overwriting out. q [B, H, Sq, D], k [B, Hkv, Sk, D], v [B, Hkv, Sk, Dv],
// out [B, H, Sq, Dv]; query head h reads key/value head h / (H / Hkv). Any
// strides. `causal` nonzero hides key j from query i when j > i + Sk - Sq.
// The masked form adds mask [Bm, Hm, Sqm, Skm], each extent 1 (broadcast) or
// the scores' extent. Inconsistent sizes are reported to the current
// execution context and leave out untouched.
void _mlir_ciface_kiln_rt_attention_f32(kiln_memref4_f32 *q,
                                        kiln_memref4_f32 *k,
                                        kiln_memref4_f32 *v,
                                        kiln_memref4_f32 *out, float scale,
                                        int32_t causal);
void _mlir_ciface_kiln_rt_attention_masked_f32(
    kiln_memref4_f32 *q, kiln_memref4_f32 *k, kiln_memref4_f32 *v,
    kiln_memref4_f32 *mask, kiln_memref4_f32 *out, float scale, int32_t causal);
// The same over present = Concat(past, new) along dim 2 for keys and for
// values, which it writes (presentK, presentV) while it reads them: past
// [B, Hkv, Lp, D], new [B, Hkv, Ln, D], present [B, Hkv, Lp + Ln, D]. The
// mask is used where `masked` is nonzero.
void _mlir_ciface_kiln_rt_attention_append_f32(
    kiln_memref4_f32 *q, kiln_memref4_f32 *pastK, kiln_memref4_f32 *newK,
    kiln_memref4_f32 *pastV, kiln_memref4_f32 *newV, kiln_memref4_f32 *presentK,
    kiln_memref4_f32 *presentV, kiln_memref4_f32 *mask, kiln_memref4_f32 *out,
    float scale, int32_t causal, int32_t masked);
// The same with a bf16 cache (kilnc --kv-cache-type=bf16): past and present
// hold bf16, new f32 rounded to nearest even as it is written. Each work item
// widens its head's keys and values into its scratch and runs the f32 item
// on them, so the cache crosses memory at half the bytes.
void _mlir_ciface_kiln_rt_attention_append_bf16(
    kiln_memref4_f32 *q, kiln_memref4_bf16 *pastK, kiln_memref4_f32 *newK,
    kiln_memref4_bf16 *pastV, kiln_memref4_f32 *newV,
    kiln_memref4_bf16 *presentK, kiln_memref4_bf16 *presentV,
    kiln_memref4_f32 *mask, kiln_memref4_f32 *out, float scale, int32_t causal,
    int32_t masked);
// The same with an 8-bit float cache (kilnc --kv-cache-type=f8e4m3fn): the
// new rows rounded to the nearest f8E4M3FN, ties to even, saturating at
// +-448.
void _mlir_ciface_kiln_rt_attention_append_f8(
    kiln_memref4_f32 *q, kiln_memref4_f8 *pastK, kiln_memref4_f32 *newK,
    kiln_memref4_f8 *pastV, kiln_memref4_f32 *newV, kiln_memref4_f8 *presentK,
    kiln_memref4_f8 *presentV, kiln_memref4_f32 *mask, kiln_memref4_f32 *out,
    float scale, int32_t causal, int32_t masked);

// kiln.layer_norm (KILN_RT_NORM_LAYER) and kiln.rms_norm (KILN_RT_NORM_RMS)
// over each row of x [R, C] into out [R, C], any strides: LayerNorm
// (x - mean) / sqrt(var + eps) * scale + bias with the variance of the
// centered values, RMSNorm x / sqrt(mean(x^2) + eps) * scale (its bias
// unused). scale has C elements, bias C or none (size 0), both of unit
// stride. Inconsistent sizes are reported to the current execution context
// and leave out untouched.
#define KILN_RT_NORM_LAYER 0
#define KILN_RT_NORM_RMS 1
void _mlir_ciface_kiln_rt_norm_f32(kiln_memref2_f32 *x, kiln_memref1_f32 *scale,
                                   kiln_memref1_f32 *bias,
                                   kiln_memref2_f32 *out, float eps,
                                   int32_t kind);

#ifdef __cplusplus
}
#endif

#endif // KILN_RUNTIME_KERNELS_KERNELS_H
