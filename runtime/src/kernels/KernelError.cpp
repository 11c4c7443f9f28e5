//===- KernelError.cpp - Errors of kernels called from generated code -----===//

#include "kernels/KernelError.h"

#include "ExecutionContext.h"

namespace kiln {

void reportError(const char *message) {
  if (kiln_rt_context *ctx = kiln_rt_current_context())
    ctx->report_error(ctx, message);
}

} // namespace kiln
