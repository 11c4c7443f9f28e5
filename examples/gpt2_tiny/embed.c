/* examples/gpt2_tiny/embed.c - calling a Kiln artifact from C.
 *
 * Build after `kilnc examples/gpt2_tiny/model.onnx -o DIR/libgpt2_tiny.so`
 * (which also writes DIR/gpt2_tiny.h):
 *   cc -I runtime/include -I DIR examples/gpt2_tiny/embed.c \
 *      -L DIR -lgpt2_tiny -Wl,-rpath,DIR -o embed
 *   ./embed examples/gpt2_tiny/inputs/input_input_ids.npy \
 *           examples/gpt2_tiny/expected/output_logits.npy
 *
 * Runs the model through the typed entry point gpt2_tiny_run() on the token
 * ids, prints the max abs difference of the logits from the expected ones and
 * fails above 1e-4. It also shows that a too-small output buffer is refused.
 */
#include "gpt2_tiny.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the data of a little-endian .npy (format 1.0) file; *bytes is its size.
 */
static void *read_npy(const char *path, size_t *bytes) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return NULL;
  }
  unsigned char head[10];
  void *data = NULL;
  if (fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY", 6) == 0) {
    long start = 10 + (head[8] | head[9] << 8);
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    if (end > start && (data = malloc((size_t)(end - start)))) {
      fseek(f, start, SEEK_SET);
      *bytes = fread(data, 1, (size_t)(end - start), f);
    }
  }
  fclose(f);
  if (!data)
    fprintf(stderr, "%s: not a readable .npy file\n", path);
  return data;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s input_ids.npy expected_logits.npy\n", argv[0]);
    return 2;
  }
  size_t ids_bytes = 0, ref_bytes = 0;
  int64_t *ids = read_npy(argv[1], &ids_bytes);
  float *ref = read_npy(argv[2], &ref_bytes);
  if (!ids || !ref)
    return 1;
  const int64_t batch = 2, seq = 16, vocab = 1000, heads = 4, head_dim = 16;
  if (ids_bytes != (size_t)(batch * seq) * sizeof *ids ||
      ref_bytes != (size_t)(batch * seq * vocab) * sizeof *ref) {
    fprintf(stderr, "inputs are not [2, 16] ids and [2, 16, 1000] logits\n");
    return 1;
  }

  kiln_session *session = NULL;
  if (kiln_session_create(gpt2_tiny_model_descriptor(), NULL, &session) !=
      KILN_OK) {
    fprintf(stderr, "cannot create a session\n");
    return 1;
  }
  size_t n_logits = (size_t)(batch * seq * vocab);
  size_t n_kv = (size_t)(batch * heads * seq * head_dim);
  float *logits = malloc(n_logits * sizeof *logits);
  float *kv[4];
  for (int i = 0; i < 4; ++i)
    kv[i] = malloc(n_kv * sizeof *kv[i]);

  kiln_status st = gpt2_tiny_run(session, batch, seq, ids,
                                 (size_t)(batch * seq), logits, n_logits, kv[0],
                                 n_kv, kv[1], n_kv, kv[2], n_kv, kv[3], n_kv);
  if (st != KILN_OK) {
    fprintf(stderr, "run failed: %s\n", kiln_session_last_error(session));
    return 1;
  }
  double max_err = 0;
  for (size_t i = 0; i < n_logits; ++i)
    max_err = fmax(max_err, fabs((double)logits[i] - ref[i]));
  printf("logits max abs err %.3g\n", max_err);

  /* One element short: refused, and nothing is written. */
  st = gpt2_tiny_run(session, batch, seq, ids, (size_t)(batch * seq), logits,
                     n_logits - 1, kv[0], n_kv, kv[1], n_kv, kv[2], n_kv, kv[3],
                     n_kv);
  printf("short buffer: %s: %s\n", kiln_status_string(st),
         kiln_session_last_error(session));

  kiln_session_destroy(session);
  for (int i = 0; i < 4; ++i)
    free(kv[i]);
  free(logits);
  free(ids);
  free(ref);
  return max_err <= 1e-4 && st == KILN_ERROR_BUFFER_TOO_SMALL ? 0 : 1;
}
