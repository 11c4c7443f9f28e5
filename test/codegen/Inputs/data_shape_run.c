/* Calls the typed entry point of a model whose output shape is read from an
 * input's data (data-shape.test): the dims come back through output_dims,
 * and a shape the Reshape rejects fails with the node's message. */
#include "rs.h"

#include <stdio.h>

int main(void) {
  kiln_session *s;
  if (kiln_session_create(rs_model_descriptor(), NULL, &s) != KILN_OK)
    return 1;
  float x[12], y[12];
  for (int i = 0; i < 12; ++i)
    x[i] = (float)i;
  int64_t dims[RS_NUM_OUTPUT_DIMS];
  printf("from data: %d %d\n", kiln_session_output_dim_from_data(s, 0, 0),
         kiln_session_output_dim_from_data(s, 0, 3));

  const int64_t shape[] = {3, -1, 2};
  kiln_status st = rs_run(s, 2, x, 12, shape, 3, y, 12, dims);
  printf("%s dims [%lld, %lld, %lld] y[11]=%g\n", kiln_status_string(st),
         (long long)dims[0], (long long)dims[1], (long long)dims[2], y[11]);

  const int64_t bad[] = {5, -1, 3};
  st = rs_run(s, 2, x, 12, bad, 3, y, 12, NULL);
  printf("%s: %s\n", kiln_status_string(st), kiln_session_last_error(s));

  /* A buffer sized for less than the data asks for. */
  const int64_t more[] = {0, 0, 1};
  float x2[24] = {0};
  st = rs_run(s, 4, x2, 24, more, 3, y, 12, dims);
  printf("%s: %s\n", kiln_status_string(st), kiln_session_last_error(s));
  kiln_session_destroy(s);
  return 0;
}
