/*===- FakeArtifact.c - a descriptor without a runtime, for test_bindings ===*
 *
 * Exports kiln_model_descriptor with abi_version FAKE_ABI_VERSION and none
 * of the runtime's C API: kiln.Session must refuse another ABI version by
 * its number, and a library without the C API by the function it lacks.
 *===----------------------------------------------------------------------===*/
#include "kiln/model_abi.h"

__attribute__((visibility("default")))
const kiln_abi_model kiln_model_descriptor = {.abi_version = FAKE_ABI_VERSION,
                                              .name = "fake"};
