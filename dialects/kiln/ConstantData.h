//===- ConstantData.h - The bytes of a constant's elements ------*- C++ -*-===//
//
// Weights come as DenseElementsAttr (small, or splat) or as
// DenseResourceElementsAttr (blobs, which may be elided in text IR). The
// passes and lowerings that rewrite weight bytes at compile time read them
// through one function.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECTS_KILN_CONSTANTDATA_H
#define KILN_DIALECTS_KILN_CONSTANTDATA_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir::kiln {

/// The bytes of `attr`'s `count` elements of `elementBytes` each: read in
/// place, or, for a splat, expanded into `storage`. Nullopt when the data
/// is not at hand (an elided blob, another kind of attribute) or holds
/// another number of bytes. `storage` without inline elements
/// (SmallVector<char, 0>) keeps the bytes aligned for any element type.
std::optional<ArrayRef<char>> elementBytes(ElementsAttr attr, int64_t count,
                                           size_t elementBytes,
                                           SmallVectorImpl<char> &storage);

/// The resource name of a DenseResourceElementsAttr; "" otherwise.
StringRef resourceKey(ElementsAttr attr);

} // namespace mlir::kiln

#endif
