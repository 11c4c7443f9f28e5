#!/usr/bin/env python3
#===- bench/serve_faults.py - kiln-serve under mixed load with faults ------===#
#
# Runs kiln-serve for a fixed time under a mix of well-behaved clients and
# faults, then stops, and fails (exit 1) unless every request ended in a
# correct answer or the expected 4xx/5xx:
#   good       greedy completions (plain and streamed) of fixed prompts; a 200
#              must carry the tokens the same prompt gives alone, measured
#              before the load starts; a 503 must carry Retry-After;
#   disconnect a streamed request whose socket is closed after the first
#              events, and a plain one closed before its answer;
#   malformed  bad JSON, wrong types, ids outside the vocabulary: 400;
#   too long   a prompt longer than the KV cache: 400;
#   burst      every few seconds 3 x max-queue requests at once: 200 (right
#              tokens) or 503 with Retry-After, nothing else.
# The server's RSS is sampled every 2 s; after the first 10 s of load (new
# shapes fault in their buffers, kept up to --buffer-cache-mb per thread) it
# must stay flat: at most 5% or 64 MiB above its level then.
#
#   .venv/bin/python bench/serve_faults.py [--model LIB.so] [--seconds 60]
#
#===----------------------------------------------------------------------===#
import argparse
import http.client
import json
import random
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import BUILD, Server  # noqa: E402

sys.setswitchinterval(0.0002)
WARM_SAMPLES = 5  # RSS samples (2 s apart) before the level it must keep


def request(server, body, stream=False, raw=None):
    conn = server.connection()
    try:
        data = raw if raw is not None else json.dumps(body)
        conn.request("POST", "/v1/completions", data, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read().decode()
        return resp.status, resp.getheader("Retry-After"), text
    finally:
        conn.close()


def tokens_of(status, text, stream):
    if status != 200:
        return None
    if not stream:
        return json.loads(text)["choices"][0]["token_ids"]
    tokens = []
    for line in text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            event = json.loads(line[6:])
            if "error" in event:
                return None
            tokens += event["choices"][0]["token_ids"]
    return tokens


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts, self.failures = {}, []

    def add(self, kind, outcome):
        with self.lock:
            self.counts[(kind, outcome)] = self.counts.get((kind, outcome), 0) + 1

    def fail(self, message):
        with self.lock:
            self.failures.append(message)


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln-serve", default=str(BUILD / "tools/kiln-serve/kiln-serve"))
    ap.add_argument("--model", default=str(BUILD / "bench/optimum/kiln/libgpt2_with_past.so"))
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-queue", type=int, default=8)
    ap.add_argument("--capacity", type=int, default=96)
    ap.add_argument("--new", type=int, default=12)
    ap.add_argument("--buffer-cache-mb", type=int, default=256,
                    help="kiln-serve's bound on the buffers each model thread keeps")
    args = ap.parse_args()

    server = Server(args.kiln_serve, args.model, args.threads,
                    ["--max-batch", "8", "--max-queue", str(args.max_queue),
                     "--kv-capacity", str(args.capacity),
                     "--buffer-cache-mb", str(args.buffer_cache_mb)])
    rng = random.Random(0)
    prompts = [[rng.randrange(args.vocab) for _ in range(rng.randint(4, 40))] for _ in range(12)]
    tally = Tally()
    try:
        expected = []
        for p in prompts:  # alone, before any load; also the warm-up
            status, _, text = request(server, {"prompt": p, "max_tokens": args.new, "temperature": 0})
            if status != 200:
                raise SystemExit(f"reference request failed: {status} {text[:200]}")
            expected.append(tokens_of(status, text, False))
        rss = [rss_mib(server.proc.pid)]
        stop = time.monotonic() + args.seconds

        def completion(kind, index, stream):
            body = {"prompt": prompts[index], "max_tokens": args.new, "temperature": 0,
                    "stream": stream}
            status, retry, text = request(server, body)
            if status == 503 and retry:
                tally.add(kind, "503")
            elif status == 200 and tokens_of(status, text, stream) == expected[index]:
                tally.add(kind, "200")
            else:
                tally.fail(f"{kind}: prompt {index} stream={stream}: {status} {text[:200]}")

        def good(seed):
            r = random.Random(seed)
            while time.monotonic() < stop:
                completion("good", r.randrange(len(prompts)), r.random() < 0.5)

        def disconnect(seed):
            r = random.Random(seed)
            while time.monotonic() < stop:
                stream = r.random() < 0.5
                body = json.dumps({"prompt": prompts[r.randrange(len(prompts))],
                                   "max_tokens": args.new, "stream": stream}).encode()
                s = socket.create_connection((server.host, server.port))
                s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: "
                          + str(len(body)).encode() + b"\r\n\r\n" + body)
                if stream:
                    s.recv(256)  # the first event, then leave
                else:
                    time.sleep(r.random() * 0.05)
                s.close()
                tally.add("disconnect", "closed")
                time.sleep(0.05)

        def malformed(seed):
            r = random.Random(seed)
            bodies = ['{"prompt": [1, 2', '{"prompt": "text"}', '{"prompt": [1], "max_tokens": "ten"}',
                      json.dumps({"prompt": [args.vocab + 5]}), '[]', '{"prompt": [[]]}',
                      json.dumps({"prompt": [1] * (args.capacity + 10)})]
            while time.monotonic() < stop:
                raw = r.choice(bodies)
                status, _, text = request(server, None, raw=raw)
                kind = "too long" if raw == bodies[-1] else "malformed"
                if status == 400 and "error" in json.loads(text):
                    tally.add(kind, "400")
                else:
                    tally.fail(f"{kind}: {raw[:60]!r}: {status} {text[:200]}")
                time.sleep(0.02)

        def burst(seed):
            r = random.Random(seed)
            while time.monotonic() < stop - 5:
                time.sleep(4)
                batch = [threading.Thread(target=completion,
                                          args=("burst", r.randrange(len(prompts)), False))
                         for _ in range(3 * args.max_queue)]
                for t in batch:
                    t.start()
                for t in batch:
                    t.join()

        def sample():
            while time.monotonic() < stop:
                time.sleep(2)
                rss.append(rss_mib(server.proc.pid))

        workers = ([threading.Thread(target=good, args=(i,)) for i in range(4)]
                   + [threading.Thread(target=disconnect, args=(10 + i,)) for i in range(2)]
                   + [threading.Thread(target=malformed, args=(20,)),
                      threading.Thread(target=burst, args=(30,)),
                      threading.Thread(target=sample)])
        start = time.monotonic()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        wall = time.monotonic() - start
        health = server.connection()
        health.request("GET", "/health")
        alive = health.getresponse().status == 200
        rss.append(rss_mib(server.proc.pid))
    finally:
        server.stop()
    code = server.proc.returncode

    print(f"{wall:.0f} s of mixed load on {Path(args.model).name}, max-queue {args.max_queue}")
    for (kind, outcome), n in sorted(tally.counts.items()):
        print(f"  {kind:<10} {outcome:>6}: {n}")
    # The first seconds of load fault in the buffers of the shapes it brings.
    base = rss[min(WARM_SAMPLES, len(rss) - 1)]
    flat = rss[-1] - base <= max(0.05 * base, 64)
    print("  RSS MiB every 2 s:", " ".join(f"{x:.0f}" for x in rss))
    print(f"  RSS MiB: after {2 * WARM_SAMPLES} s of load {base:.0f}, max {max(rss):.0f}, "
          f"end {rss[-1]:.0f} ({'flat' if flat else 'GREW'})")
    print(f"  health after the run: {'200' if alive else 'not 200'}; exit status after SIGTERM: {code}")
    ok = not tally.failures and flat and alive and code == 0
    for f in tally.failures[:20]:
        print("  FAIL", f)
    print("PASS" if ok else f"FAIL ({len(tally.failures)} wrong answers)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
