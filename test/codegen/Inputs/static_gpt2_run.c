/* Links libgpt2.a (kilnc --emit=static) into a program of its own: reads
 * input_ids (raw int64, batch x seq) from argv[1], runs the model through
 * its typed entry point, and writes the logits (raw float32) to argv[2].
 * Built with -DWITH_BERT, it also links libbert.a, a second model carrying
 * the same runtime, and opens a session of it: the two link without a
 * clash. (static-archive.test, static-archive-aarch64.test) */
#include "gpt2.h"
#ifdef WITH_BERT
#include "bert.h"
#endif

#include <stdio.h>
#include <stdlib.h>

enum { BATCH = 2, SEQ = 16, VOCAB = 1000, HEADS = 4, HEAD_DIM = 16 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  static int64_t ids[BATCH * SEQ];
  static float logits[BATCH * SEQ * VOCAB];
  static float present[4][BATCH * HEADS * SEQ * HEAD_DIM];
  FILE *in = fopen(argv[1], "rb");
  if (!in || fread(ids, sizeof ids, 1, in) != 1)
    return 3;
  fclose(in);

  kiln_session *s;
  if (kiln_session_create(gpt2_model_descriptor(), NULL, &s) != KILN_OK)
    return 4;
  size_t n = BATCH * HEADS * SEQ * HEAD_DIM;
  kiln_status st =
      gpt2_run(s, BATCH, SEQ, ids, BATCH * SEQ, logits, BATCH * SEQ * VOCAB,
               present[0], n, present[1], n, present[2], n, present[3], n);
  if (st != KILN_OK) {
    fprintf(stderr, "%s: %s\n", kiln_status_string(st),
            kiln_session_last_error(s));
    return 5;
  }
  printf("model %s ran\n", gpt2_model_descriptor()->name);
  kiln_session_destroy(s);

  FILE *out = fopen(argv[2], "wb");
  if (!out || fwrite(logits, sizeof logits, 1, out) != 1)
    return 6;
  fclose(out);

#ifdef WITH_BERT
  kiln_session *b;
  if (kiln_session_create(bert_model_descriptor(), NULL, &b) != KILN_OK)
    return 7;
  printf("model %s: %d inputs\n", bert_model_descriptor()->name,
         kiln_session_num_inputs(b));
  kiln_session_destroy(b);
#endif
  return 0;
}
