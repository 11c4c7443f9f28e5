//===- KilnDialect.td - Kiln dialect definition ------------*- tablegen -*-===//
//
// The Kiln dialect models a transformer graph at the tensor level, above
// linalg: one op per ONNX-level computation (matmul, layer_norm, softmax,
// gather, ...) on ranked tensors whose dynamic extents are symbolic.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT
#define KILN_DIALECT

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let summary = "Tensor-level dialect of the Kiln transformer compiler";
  let description = [{
    Values are ranked tensors. A `?` extent is always a symbolic dimension:
    every function carries a `kiln.symbols` array naming the symbols
    (`batch`, `seq`, ...), and ops that create a shape (reshape, expand,
    slice, range, fill) carry it as an affine map over those symbols,
    `()[s0, s1] -> (s0, s1 * 4, 16)`. Shape arithmetic of the source graph is
    folded into these maps at import, never executed at run time.

    Function arguments and results carry `kiln.dims`, the same kind of map
    giving each extent, so the runtime can bind the symbols from the input
    shapes and compute the output shapes without walking the graph.
  }];
  let cppNamespace = "::mlir::kiln";
  let useDefaultAttributePrinterParser = 0;
}

class Kiln_Op<string mnemonic, list<Trait> traits = []> :
    Op<Kiln_Dialect, mnemonic, traits>;

#endif // KILN_DIALECT
