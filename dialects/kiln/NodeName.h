//===- NodeName.h - The ONNX node a kiln op came from -----------*- C++ -*-===//
//
// The importer gives every op the location NameLoc(node name or op type,
// model file); passes fuse locations. Diagnostics and run-time messages
// name the node through this.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECTS_KILN_NODENAME_H
#define KILN_DIALECTS_KILN_NODENAME_H

#include "mlir/IR/Location.h"

#include <string>

namespace mlir::kiln {

/// The ONNX node name an op was imported from (its NameLoc, the first one
/// in a fused location), or "".
std::string nodeName(Location loc);

} // namespace mlir::kiln

#endif
