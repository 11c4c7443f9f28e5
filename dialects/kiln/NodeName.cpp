//===- NodeName.cpp - The ONNX node a kiln op came from -------------------===//
#include "dialects/kiln/NodeName.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

std::string mlir::kiln::nodeName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (std::string n = nodeName(l); !n.empty())
        return n;
  return "";
}
