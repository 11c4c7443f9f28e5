//===- CIdentifier.cpp - C identifiers from model and tensor names --------===//
#include "codegen/CIdentifier.h"

#include "llvm/ADT/StringExtras.h"

std::string mlir::kiln::sanitizeCIdentifier(llvm::StringRef name,
                                            llvm::StringRef prefix) {
  std::string id;
  for (char c : name)
    id += llvm::isAlnum(c) ? c : '_';
  if (!prefix.empty() && (id.empty() || llvm::isDigit(id[0])))
    id = prefix.str() + id;
  return id;
}
