#!/usr/bin/env python3
"""The Python package's figures, side by side with litellm where it is
installed: import time, and the latency each library adds to a call
(sync, async, streamed) over the same local mock upstream.

    python3 scripts/bench_python.py [--calls 300] [--imports 7]

The mock (tests/python/mock_upstream.py) runs in its own process on
127.0.0.1 and answers at once; "raw" is the same request sent by
http.client over one kept-alive connection, so "added" is what the
library itself costs per call: argument handling, request building,
response parsing and objects. Each library is measured in a fresh
process. litellm is told to use its bundled price map
(LITELLM_LOCAL_MODEL_COST_MAP=True) so its import does not wait on the
network.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [{"role": "user", "content": "Say hello"}]
MODEL = "openai/gpt-4o-mini"
ENV = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_TELEMETRY="False",
           NO_PROXY="127.0.0.1,localhost", PYTHONFAULTHANDLER="1")


def per_call(times: list) -> dict:
    times = sorted(times)
    return {"p50_us": statistics.median(times) * 1e6, "p90_us": times[int(len(times) * 0.9)] * 1e6}


def import_time(module: str, runs: int) -> float | None:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    seen = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
        if done.returncode != 0:
            return None
        seen.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(seen)


def raw(url: str, calls: int) -> dict:
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    out = {}
    for mode in ("json", "stream"):
        body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES, "stream": mode == "stream"})
        times = []
        for i in range(calls + 20):
            t = time.perf_counter()
            conn.request("POST", "/v1/chat/completions", body,
                         {"content-type": "application/json", "authorization": "Bearer k"})
            conn.getresponse().read()
            if i >= 20:
                times.append(time.perf_counter() - t)
        out[mode] = per_call(times)
    return out


def child(lib_name: str, url: str, calls: int) -> dict:
    """Runs in a fresh process: one library's calls against the mock."""
    lib = __import__(lib_name)
    kwargs = {"api_base": f"{url}/v1", "api_key": "k"}

    def sync_call():
        return lib.completion(model=MODEL, messages=MESSAGES, **kwargs)

    def stream_call():
        for _ in lib.completion(model=MODEL, messages=MESSAGES, stream=True, **kwargs):
            pass

    out = {}
    for name, fn in (("sync", sync_call), ("stream", stream_call)):
        times = []
        for i in range(calls + 20):
            t = time.perf_counter()
            fn()
            if i >= 20:
                times.append(time.perf_counter() - t)
        out[name] = per_call(times)

    async def run_async():
        times = []
        for i in range(calls + 20):
            t = time.perf_counter()
            await lib.acompletion(model=MODEL, messages=MESSAGES, **kwargs)
            if i >= 20:
                times.append(time.perf_counter() - t)
        return times

    out["async"] = per_call(asyncio.run(run_async()))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--imports", type=int, default=7)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.calls)))
        return

    mock = subprocess.Popen([sys.executable, str(ROOT / "tests/python/mock_upstream.py")],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = mock.stdout.readline().strip()
        base = raw(url, args.calls)
        print(f"raw http.client over one connection: JSON p50 {base['json']['p50_us']:.0f} µs, "
              f"stream p50 {base['stream']['p50_us']:.0f} µs\n")
        print(f"{'':12} {'import':>9} {'sync added':>12} {'async added':>12} {'stream added':>13}   (p50; p90 in brackets)")
        for lib in ("switchboard", "litellm"):
            took = import_time(lib, args.imports)
            if took is None:
                print(f"{lib:12} not installed")
                continue
            done = subprocess.run([sys.executable, __file__, "--child", lib, "--url", url,
                                   "--calls", str(args.calls)], capture_output=True, text=True, env=ENV)
            if done.returncode != 0:
                print(f"{lib:12} failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-3:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])

            def added(mode: str, against: str) -> str:
                return (f"{(r[mode]['p50_us'] - base[against]['p50_us']) / 1000:.3f} ms"
                        f" [{(r[mode]['p90_us'] - base[against]['p90_us']) / 1000:.2f}]")

            print(f"{lib:12} {took * 1000:7.0f} ms {added('sync', 'json'):>12} {added('async', 'json'):>12} "
                  f"{added('stream', 'stream'):>13}")
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    main()
