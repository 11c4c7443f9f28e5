#!/usr/bin/env python3
"""References of kiln-serve's tests, by ONNX Runtime.

For each decoder the tests serve, runs a few prompts alone (batch 1) through
ORT, feeding each step's presents back as the next past, and writes the
greedy tokens to greedy_refs.json. A prompt is kept only if, at every step,
the largest logit beats the second by at least MIN_GAP, so that a correct
engine cannot pick another token through float rounding. For the encoder,
the mean- and CLS-pooled last hidden state of a few inputs, each run alone.

Usage: .venv/bin/python test/serve/make_greedy_refs.py
"""
import json
import pathlib

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = pathlib.Path(__file__).resolve().parent / "greedy_refs.json"
MIN_GAP = 1e-3
NEW_TOKENS = 12
LENGTHS = (1, 3, 5, 8, 11, 16, 2, 7)

# name: (main graph, decode graph or None, vocab)
MODELS = {
    "gpt2_tiny": ("test/models/gpt2_tiny_prefill.onnx",
                  "test/models/gpt2_tiny_decode.onnx", 1000),
    "gpt2_optimum": ("test/models/zoo/gpt2_optimum_sdpa_decode.onnx", None, 256),
    "llama_optimum": ("test/models/zoo/llama_optimum_sdpa_decode.onnx", None, 256),
}


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(ROOT / path), options,
                                providers=["CPUExecutionProvider"])


def feeds(sess, ids, past, positions):
    total = (past[0].shape[2] if past else 0) + ids.shape[1]
    out, k = {}, 0
    for i in sess.get_inputs():
        if i.name == "input_ids":
            out[i.name] = ids
        elif i.name == "attention_mask":
            out[i.name] = np.ones((1, total), np.int64)
        elif i.name == "position_ids":
            out[i.name] = positions
        else:  # past_key_values.N.{key,value}, in order
            if past:
                out[i.name] = past[k]
            else:
                dims = [1 if isinstance(d, str) and d != "past_sequence_length"
                        else d for d in i.shape]
                dims[0], dims[2] = 1, 0
                out[i.name] = np.zeros(dims, np.float32)
            k += 1
    return out


def greedy(main, decode, prompt):
    ids = np.array([prompt], np.int64)
    positions = np.arange(len(prompt), dtype=np.int64)[None]
    outs = main.run(None, feeds(main, ids, None, positions))
    tokens, gap = [], np.inf
    length = len(prompt)
    step = decode or main
    while True:
        logits = outs[0][0, -1]
        top2 = np.sort(logits)[-2:]
        gap = min(gap, float(top2[1] - top2[0]))
        token = int(np.argmax(logits))
        tokens.append(token)
        if len(tokens) == NEW_TOKENS:
            return tokens, gap
        past = outs[1:]
        outs = step.run(None, feeds(step, np.array([[token]], np.int64), past,
                                    np.array([[length]], np.int64)))
        length += 1


def embeddings(path, rng):
    sess = session(path)
    cases = []
    for length in (1, 4, 9, 16, 6):
        ids = [int(t) for t in rng.integers(0, 1000, length)]
        feed = {"input_ids": np.array([ids], np.int64),
                "attention_mask": np.ones((1, length), np.int64),
                "token_type_ids": np.zeros((1, length), np.int64)}
        hidden = sess.run(["last_hidden_state"], feed)[0][0]
        cases.append({"input": ids,
                      "mean": [round(float(x), 7) for x in hidden.mean(0)],
                      "cls": [round(float(x), 7) for x in hidden[0]]})
    return {"model": path, "cases": cases}


def main():
    refs = {}
    rng = np.random.default_rng(0)
    for name, (main_path, decode_path, vocab) in MODELS.items():
        main_sess = session(main_path)
        decode_sess = session(decode_path) if decode_path else None
        cases = []
        for length in LENGTHS:
            for _ in range(20):
                prompt = [int(t) for t in rng.integers(0, vocab, length)]
                tokens, gap = greedy(main_sess, decode_sess, prompt)
                if gap >= MIN_GAP:
                    cases.append({"prompt": prompt, "tokens": tokens,
                                  "min_gap": round(gap, 6)})
                    break
            else:
                raise SystemExit(f"{name}: no prompt of {length} tokens with "
                                 f"a top-2 gap of {MIN_GAP}")
        refs[name] = {"model": main_path, "decode": decode_path,
                      "vocab": vocab, "cases": cases}
        print(f"{name}: {len(cases)} prompts, smallest gap "
              f"{min(c['min_gap'] for c in cases):.4g}")
    refs["bert_tiny"] = embeddings("test/models/bert_tiny_encoder.onnx", rng)
    OUT.write_text(json.dumps(refs, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
