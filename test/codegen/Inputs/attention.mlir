// kiln.attention with grouped-query heads (4 query heads over 2 key/value
// heads), an additive padding mask and causal hiding, over symbolic batch,
// query length and key length. Checked by attention-run.test.
func.func @main(
    %q: tensor<?x4x?x8xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, 8)>, kiln.name = "q"},
    %k: tensor<?x2x?x8xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 2, s2, 8)>, kiln.name = "k"},
    %v: tensor<?x2x?x8xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 2, s2, 8)>, kiln.name = "v"},
    %mask: tensor<?x1x1x?xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 1, 1, s2)>, kiln.name = "mask"})
    -> (tensor<?x4x?x8xf32> {kiln.dims = affine_map<()[s0, s1, s2] -> (s0, 4, s1, 8)>, kiln.name = "out"})
    attributes {kiln.symbols = ["batch", "q_len", "k_len"]} {
  %0 = kiln.attention %q, %k, %v, %mask {scale = 0.35355339 : f32, causal}
      : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x1x1x?xf32> -> tensor<?x4x?x8xf32>
  return %0 : tensor<?x4x?x8xf32>
}
