// A result with kiln.dims and an argument without: kilnc must refuse it
// naming the tensor and the line, and not print the function. diagnostics.test.
func.func @main(
    %x: tensor<2x3xf32> {kiln.name = "x"})
    -> (tensor<2x3xf32> {kiln.dims = affine_map<()[s0] -> (2, 3)>, kiln.name = "y"})
    attributes {kiln.symbols = ["unused"]} {
  %0 = kiln.gelu %x : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
