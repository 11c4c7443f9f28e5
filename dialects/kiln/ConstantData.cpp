//===- ConstantData.cpp - The bytes of a constant's elements --------------===//
#include "dialects/kiln/ConstantData.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

std::optional<ArrayRef<char>>
kiln::elementBytes(ElementsAttr attr, int64_t count, size_t elementBytes,
                   SmallVectorImpl<char> &storage) {
  size_t bytes = size_t(count) * elementBytes;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> raw = dense.getRawData();
    if (!dense.isSplat())
      return raw.size() == bytes ? std::optional(raw) : std::nullopt;
    if (raw.size() != elementBytes)
      return std::nullopt;
    storage.resize(bytes);
    for (size_t at = 0; at < bytes; at += elementBytes)
      memcpy(storage.data() + at, raw.data(), elementBytes);
    return ArrayRef<char>(storage.data(), bytes);
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = res.getRawHandle().getBlob();
        blob && blob->getData().size() == bytes)
      return blob->getData();
  return std::nullopt;
}

StringRef kiln::resourceKey(ElementsAttr attr) {
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr))
    return res.getRawHandle().getKey();
  return "";
}
