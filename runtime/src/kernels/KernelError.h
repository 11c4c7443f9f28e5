//===- KernelError.h - Errors of kernels for generated code -----*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_KERNELERROR_H
#define KILN_RUNTIME_KERNELS_KERNELERROR_H

namespace kiln {

// Reports `message` to the current execution context (none: dropped).
void reportError(const char *message);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_KERNELERROR_H
