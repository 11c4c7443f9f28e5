/*===- FakeModel.h - A hand-written model descriptor for tests -------------===*
 *
 * Stands in for a kilnc artifact:
 *   symbols  batch (max 8), seq (max 1024)
 *   inputs   input_ids: i64 [batch, seq], x: f32 [batch, seq, 4]
 *   outputs  y: f32 [batch, seq, 4] = 2 * x + input_ids (through the runtime's
 *              batch matmul with W = 2 * I, so artifacts link the kernels)
 *            z: i64 [batch, seq + 1]: z[b, 0] = 0, z[b, j] = ids[b, j-1] + 1
 * run() returns 3 if an input id is negative, 4 if it sees no execution
 * context. Built with
 * KILN_FAKE_MODEL_ARTIFACT it is named kiln_model_descriptor instead.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_TEST_RUNTIME_FAKEMODEL_H
#define KILN_TEST_RUNTIME_FAKEMODEL_H

#include "kiln/model_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const kiln_abi_model kiln_fake_model;

#ifdef __cplusplus
}
#endif

#endif
