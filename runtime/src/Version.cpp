//===- Version.cpp - The Kiln version of this runtime copy ----------------===//
//
// Every artifact links a copy of this file with the rest of the runtime and
// exports both symbols (runtime.h), so a host that dlopens an artifact can
// read which runtime it carries without calling into it.
//
//===----------------------------------------------------------------------===//

#include "ExecutionContext.h"
#include "kiln/runtime.h"

#ifndef KILN_VERSION
#error "KILN_VERSION (the project's version) must be defined"
#endif

extern "C" {
KILN_API const char kiln_runtime_version[] = KILN_VERSION;
KILN_API const uint32_t kiln_runtime_context_version = KILN_RT_CONTEXT_VERSION;
}
