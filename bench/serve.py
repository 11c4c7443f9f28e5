#!/usr/bin/env python3
#===- bench/serve.py - kiln-serve under load, against direct C API calls ---===#
#
# Drives kiln-serve over loopback with N concurrent clients, each sending a
# bounded number of requests one after another, then stops:
#   decoder  POST /v1/completions, stream: true, greedy, PROMPT-token prompts
#            and NEW new tokens: tokens/s over the run, time to first token
#            and the time between tokens at p50/p99, per client count;
#   encoder  POST /v1/embeddings at each input length: requests/s, over
#            --encoder-requests requests per client (12: three made the run
#            of 8-token inputs 0.3 s long, mostly the clients' start).
# In the same run, with the server stopped, the same work through the C API
# directly (ctypes on the artifact, as bench/workers.py does):
#   decoder  one batch-N prefill (an empty past), then NEW - 1 steps of
#            kiln_session_run_cached at batch N: the ceiling of batching;
#   encoder  batches of 16 rows: the ceiling for 16 clients.
# and, for the encoder, the server again with --max-batch 1 (unbatched).
#
#   .venv/bin/python bench/serve.py [--decoder LIB.so] [--encoder LIB.so]
#       [--clients 1,4,16] [--requests 4] [--prompt 32] [--new 32] [--rounds N]
#
# Defaults are the Optimum exports bench/run.sh --exporter optimum compiles
# (GPT-2 small with past, BERT-base). Every engine first does one untimed
# round, which faults in the buffers of its shapes. Results:
# bench/results/<date>-serve.json, or -serve-2.json and on where that
# exists (a run never overwrites a kept one; --out names the file).
#
#===----------------------------------------------------------------------===#
import argparse
import ctypes
import datetime
import http.client
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workers  # noqa: E402  (ctypes bindings of runtime.h)

# The clients are threads of this process: with the default 5 ms GIL switch
# interval, clients answered together came back one by one, milliseconds
# apart, and split the server's batches.
sys.setswitchinterval(0.0002)

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"


def percentile(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


class Server:
    def __init__(self, binary, model, threads, extra):
        cmd = [str(binary), str(model), "--port", "0", "--threads", str(threads)] + extra
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            self.proc.kill()
            raise RuntimeError(f"kiln-serve did not start: {line}{self.proc.stderr.read()}")
        self.host, port = line.strip().rsplit("/", 1)[-1].rsplit(":", 1)
        self.port = int(port)

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=600)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def run_clients(server, clients, work):
    """Runs work(conn, c) for each client c on a thread with its own
    connection, all at once; returns the wall time and re-raises the first
    failure."""
    errors = []

    def client(c):
        conn = server.connection()
        try:
            work(conn, c)
        except Exception as e:  # noqa: BLE001 - re-raised below
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return wall


def completion(conn, prompt, new_tokens):
    """Streams one completion; returns (tokens, [arrival time of each])."""
    body = json.dumps({"prompt": prompt, "max_tokens": new_tokens, "temperature": 0,
                       "stream": True})
    start = time.perf_counter()
    conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"completion: HTTP {resp.status}: {resp.read()[:300]!r}")
    tokens, times = [], []
    for raw in resp:
        line = raw.decode().strip()
        if not line.startswith("data: "):
            continue
        data = line[len("data: "):]
        if data == "[DONE]":
            break
        event = json.loads(data)
        for choice in event.get("choices", []):
            for t in choice.get("token_ids") or []:
                tokens.append(t)
                times.append(time.perf_counter() - start)
    resp.read()  # the end of the chunked body, before the connection is reused
    return tokens, times


def load_decoder(server, clients, requests, prompt_len, new_tokens, vocab, seed):
    rng = np.random.default_rng(seed)
    prompts = [[[int(t) for t in rng.integers(0, vocab, prompt_len)] for _ in range(requests)]
               for _ in range(clients)]
    ttft, gaps, counts = [], [], [0] * clients
    lock = threading.Lock()

    def work(conn, c):
        for p in prompts[c]:
            tokens, times = completion(conn, p, new_tokens)
            with lock:
                ttft.append(times[0])
                gaps.extend(np.diff(times).tolist())
                counts[c] += len(tokens)

    wall = run_clients(server, clients, work)
    return {"clients": clients, "requests": clients * requests, "tokens": sum(counts),
            "seconds": wall, "tokens_per_s": sum(counts) / wall,
            "ttft_p50_ms": 1e3 * percentile(ttft, 50), "ttft_p99_ms": 1e3 * percentile(ttft, 99),
            "token_p50_ms": 1e3 * percentile(gaps, 50), "token_p99_ms": 1e3 * percentile(gaps, 99)}


class Direct(workers.KilnEngine):
    """The C API without a server: batched prefill, then in-place steps."""

    def __init__(self, lib, threads):
        super().__init__(lib, threads)
        lib_ = self.lib
        lib_.kiln_kv_cache_create.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                              ctypes.POINTER(ctypes.c_void_p)]
        lib_.kiln_kv_cache_set.argtypes = [ctypes.c_void_p, ctypes.POINTER(workers.KilnTensor),
                                           ctypes.c_size_t]
        lib_.kiln_kv_cache_destroy.argtypes = [ctypes.c_void_p]
        lib_.kiln_session_run_cached.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                 ctypes.POINTER(workers.KilnTensor), ctypes.c_size_t,
                                                 ctypes.POINTER(workers.KilnTensor), ctypes.c_size_t]
        self.ins = self.signature(output=False)
        self.outs = [n for n, _ in self.signature(output=True)]
        self.shapes = []
        for i in range(len(self.ins)):
            info = workers.KilnTensorInfo()
            self.check(self.lib.kiln_session_input_info(self.session, i, ctypes.byref(info)), "info")
            self.shapes.append([info.dims[d] for d in range(info.rank)])

    def run_alloc(self, arrays):
        keep = []
        tensors = workers.kiln_tensors(arrays, keep)
        outs, n = ctypes.POINTER(workers.KilnTensor)(), ctypes.c_size_t()
        self.check(self.lib.kiln_session_run_alloc(self.session, tensors, len(arrays),
                                                   ctypes.byref(outs), ctypes.byref(n)), "run_alloc")
        result = []
        for o in range(n.value):
            t = outs[o]
            shape = tuple(t.dims[d] for d in range(t.rank))
            dt = workers.KILN_DTYPES[t.dtype]
            count = int(np.prod(shape, dtype=np.int64))
            src = np.ctypeslib.as_array(ctypes.cast(t.data, ctypes.POINTER(ctypes.c_byte)),
                                        (count * np.dtype(dt).itemsize,))
            result.append(src.view(dt).reshape(shape).copy())
        return result

    def prompt_feed(self, prompts):
        """The inputs of the prompts' call (one length): the ids, a full
        mask and positions, over an empty past."""
        batch, n = len(prompts), len(prompts[0])
        feed = []
        for (name, dt), shape in zip(self.ins, self.shapes):
            if name == "input_ids":
                feed.append(np.array(prompts, np.int64))
            elif name == "attention_mask":
                feed.append(np.ones((batch, n), np.int64))
            elif name == "position_ids":
                feed.append(np.tile(np.arange(n, dtype=np.int64), (batch, 1)))
            else:
                feed.append(np.zeros((batch, shape[1], 0, shape[3]), dt))
        return feed

    def presents(self, outs):
        """The present outputs of `outs`, in the order of the past inputs
        (the KV cache's pairs)."""
        return [outs[self.outs.index("present." + name[len("past_key_values."):])]
                for name, _ in self.ins if name.startswith("past_key_values.")]

    def step_feed(self, tokens, length):
        """The inputs besides the past of a one-token step: `tokens` (one a
        row) at the last position of `length`-token sequences."""
        batch = len(tokens)
        feed = []
        for name, _ in self.ins:
            if name == "input_ids":
                feed.append(np.asarray(tokens, np.int64).reshape(batch, 1))
            elif name == "attention_mask":
                feed.append(np.ones((batch, length), np.int64))
            elif name == "position_ids":
                feed.append(np.full((batch, 1), length - 1, np.int64))
        return feed

    def generate(self, prompts, new_tokens):
        """Greedy tokens of every prompt (one length), the time to the first
        token and the whole time."""
        batch, n = len(prompts), len(prompts[0])
        start = time.perf_counter()
        outs = self.run_alloc(self.prompt_feed(prompts))
        logits = outs[self.outs.index("logits")]
        tokens = [logits[:, -1].argmax(-1)]
        first = time.perf_counter() - start
        presents = self.presents(outs)
        cache = ctypes.c_void_p()
        self.check(self.lib.kiln_kv_cache_create(self.session, batch, n + new_tokens,
                                                 ctypes.byref(cache)), "kv_cache_create")
        keep = []
        self.check(self.lib.kiln_kv_cache_set(cache, workers.kiln_tensors(presents, keep),
                                              len(presents)), "kv_cache_set")
        step_logits = np.empty((batch, 1, logits.shape[-1]), np.float32)
        out_t = workers.kiln_tensors([step_logits], keep)
        for k in range(1, new_tokens):
            others = self.step_feed(tokens[-1], n + k)
            self.check(self.lib.kiln_session_run_cached(
                self.session, cache, workers.kiln_tensors(others, keep), len(others), out_t, 1),
                "run_cached")
            tokens.append(step_logits[:, 0].argmax(-1))
        total = time.perf_counter() - start
        self.lib.kiln_kv_cache_destroy(cache)
        return np.stack(tokens, 1), first, total


def direct_decoder(lib, threads, clients, requests, prompt_len, new_tokens, vocab, seed):
    engine = Direct(lib, threads)
    rng = np.random.default_rng(seed)
    engine.generate([[1] * prompt_len] * clients, new_tokens)  # untimed warm-up
    total, firsts = 0.0, []
    for _ in range(requests):
        prompts = [[int(t) for t in rng.integers(0, vocab, prompt_len)] for _ in range(clients)]
        _, first, seconds = engine.generate(prompts, new_tokens)
        firsts.append(first)
        total += seconds
    return {"clients": clients, "tokens_per_s": clients * requests * new_tokens / total,
            "ttft_p50_ms": 1e3 * percentile(firsts, 50)}


def load_encoder(server, clients, requests, length, vocab, seed):
    rng = np.random.default_rng(seed)

    def work(conn, c):
        for _ in range(requests):
            ids = [int(t) for t in rng.integers(0, vocab, length)]
            conn.request("POST", "/v1/embeddings", json.dumps({"input": ids}),
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"embeddings: HTTP {resp.status}: {body[:300]!r}")

    return clients * requests / run_clients(server, clients, work)


def direct_encoder(lib, threads, batch, calls, length, vocab, seed):
    engine = Direct(lib, threads)
    rng = np.random.default_rng(seed)
    total = 0.0
    for call in range(calls + 1):  # the first, untimed, faults in the buffers
        feed = []
        for name, dt in engine.ins:
            if name == "input_ids":
                feed.append(rng.integers(0, vocab, (batch, length)).astype(np.int64))
            elif name == "attention_mask":
                feed.append(np.ones((batch, length), np.int64))
            else:
                feed.append(np.zeros((batch, length), np.int64))
        start = time.perf_counter()
        engine.run_alloc(feed)
        if call:
            total += time.perf_counter() - start
    return batch * calls / total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln-serve", default=str(BUILD / "tools/kiln-serve/kiln-serve"))
    ap.add_argument("--decoder", default=str(BUILD / "bench/optimum/kiln/libgpt2_with_past.so"))
    ap.add_argument("--encoder", default=str(BUILD / "bench/optimum/kiln/libbert_base.so"))
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--encoder-vocab", type=int, default=30522)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--requests", type=int, default=3, help="requests per client (decoder)")
    ap.add_argument("--encoder-requests", type=int, default=12,
                    help="requests per client, and direct batch-16 calls, for the encoder: "
                         "enough that the clients' start does not weigh in (default 12)")
    ap.add_argument("--single-requests", type=int, default=8,
                    help="requests of the one-client row (its TTFT is compared with the C API's)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="with 1 among --clients: run one client then the most clients this many "
                         "times in all on the same server, and print each round's ratio and the "
                         "median (the host drifts between phases; a pair run back to back "
                         "shares one)")
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--lengths", default="8,128", help="encoder input lengths")
    ap.add_argument("--skip-decoder", action="store_true")
    ap.add_argument("--skip-encoder", action="store_true")
    ap.add_argument("--out", default=None,
                    help="results file (default: bench/results/<date>-serve.json, numbered "
                         "on where it exists)")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    results = {"meta": {"date": datetime.date.today().isoformat(), "host": platform.node(),
                        "cpu": platform.processor(), "threads": args.threads,
                        "argv": sys.argv[1:]}}

    if not args.skip_decoder:
        capacity = args.prompt + args.new + 1
        rows = []
        server = Server(args.kiln_serve, args.decoder, args.threads,
                        ["--max-batch", str(max(clients)), "--kv-capacity", str(capacity)])
        try:
            # Untimed: the first calls at each shape fault in their buffers.
            for _ in range(2):
                load_decoder(server, max(clients), 1, args.prompt, args.new, args.vocab, seed=99)
            for c in clients:
                requests = args.single_requests if c == 1 else args.requests
                rows.append(load_decoder(server, c, requests, args.prompt, args.new,
                                         args.vocab, seed=c))
                print(f"served  {c:>3} clients: {rows[-1]['tokens_per_s']:8.1f} tok/s", flush=True)
            ratios = []
            if 1 in clients and args.rounds > 1:
                by_clients = {r["clients"]: r["tokens_per_s"] for r in rows}
                ratios.append(by_clients[max(clients)] / by_clients[1])
                for rnd in range(1, args.rounds):
                    one_row = load_decoder(server, 1, args.single_requests, args.prompt, args.new,
                                           args.vocab, seed=1000 + rnd)
                    many_row = load_decoder(server, max(clients), args.requests, args.prompt,
                                            args.new, args.vocab, seed=2000 + rnd)
                    ratios.append(many_row["tokens_per_s"] / one_row["tokens_per_s"])
                    print(f"round {rnd + 1}: 1 client {one_row['tokens_per_s']:8.1f} tok/s, "
                          f"{max(clients)} clients {many_row['tokens_per_s']:8.1f} tok/s, "
                          f"{ratios[-1]:.2f}x", flush=True)
        finally:
            server.stop()
        for row in rows:
            d = direct_decoder(args.decoder, args.threads, row["clients"],
                               row["requests"] // row["clients"], args.prompt, args.new,
                               args.vocab, seed=row["clients"])
            row["direct_tokens_per_s"] = d["tokens_per_s"]
            row["direct_ttft_p50_ms"] = d["ttft_p50_ms"]
            print(f"direct  {row['clients']:>3} rows:    {d['tokens_per_s']:8.1f} tok/s", flush=True)
        one = rows[0]["tokens_per_s"]
        print(f"\nDecoder {Path(args.decoder).name}: {args.prompt}-token prompts, {args.new} new "
              f"tokens, {args.requests} requests per client ({args.single_requests} for one "
              f"client), {args.threads} threads")
        head = (f"{'clients':>7} {'tok/s':>8} {'x 1 client':>10} {'direct tok/s':>12} {'% direct':>8} "
                f"{'TTFT p50':>9} {'p99':>8} {'direct':>8} {'token p50':>9} {'p99':>8} (ms)")
        print(head + "\n" + "-" * len(head))
        for r in rows:
            r["x_one_client"] = r["tokens_per_s"] / one
            r["pct_direct"] = 100 * r["tokens_per_s"] / r["direct_tokens_per_s"]
            print(f"{r['clients']:>7} {r['tokens_per_s']:>8.1f} {r['x_one_client']:>10.2f} "
                  f"{r['direct_tokens_per_s']:>12.1f} {r['pct_direct']:>7.0f}% "
                  f"{r['ttft_p50_ms']:>9.1f} {r['ttft_p99_ms']:>8.1f} {r['direct_ttft_p50_ms']:>8.1f} "
                  f"{r['token_p50_ms']:>9.1f} {r['token_p99_ms']:>8.1f}")
        results["decoder"] = {"model": Path(args.decoder).name, "rows": rows}
        if ratios:
            median = sorted(ratios)[len(ratios) // 2] if len(ratios) % 2 else \
                sum(sorted(ratios)[len(ratios) // 2 - 1:len(ratios) // 2 + 1]) / 2
            print(f"\n{max(clients)} clients x one client, {len(ratios)} rounds on one server: "
                  + ", ".join(f"{r:.2f}" for r in ratios) + f"; median {median:.2f}")
            results["decoder"]["round_ratios"] = ratios
            results["decoder"]["median_ratio"] = median

    if not args.skip_encoder:
        rows = []
        n = max(clients)
        for length in [int(x) for x in args.lengths.split(",")]:
            row = {"length": length, "clients": n}
            for label, batch in (("batched", n), ("unbatched", 1)):
                server = Server(args.kiln_serve, args.encoder, args.threads,
                                ["--max-batch", str(batch), "--max-delay-ms", "2"])
                try:
                    load_encoder(server, n, 2, length, args.encoder_vocab, seed=99)  # warm-up
                    row[f"{label}_rps"] = load_encoder(server, n, args.encoder_requests, length,
                                                       args.encoder_vocab, seed=length)
                finally:
                    server.stop()
            row["direct_rps"] = direct_encoder(args.encoder, args.threads, n, args.encoder_requests,
                                               length, args.encoder_vocab, seed=length)
            rows.append(row)
        print(f"\nEncoder {Path(args.encoder).name}: {n} clients, {args.encoder_requests} requests "
              "each")
        head = f"{'length':>6} {'served req/s':>12} {'unbatched':>10} {'direct b16':>10} {'% direct':>8}"
        print(head + "\n" + "-" * len(head))
        for r in rows:
            r["pct_direct"] = 100 * r["batched_rps"] / r["direct_rps"]
            print(f"{r['length']:>6} {r['batched_rps']:>12.1f} {r['unbatched_rps']:>10.1f} "
                  f"{r['direct_rps']:>10.1f} {r['pct_direct']:>7.0f}%")
        results["encoder"] = {"model": Path(args.encoder).name, "rows": rows}

    out = Path(args.out) if args.out else unused_results_path(results["meta"]["date"])
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def unused_results_path(date: str) -> Path:
    """bench/results/<date>-serve.json, or the first -serve-N.json that does
    not exist yet."""
    base = ROOT / "bench/results"
    out, n = base / f"{date}-serve.json", 2
    while out.exists():
        out, n = base / f"{date}-serve-{n}.json", n + 1
    return out


if __name__ == "__main__":
    main()
