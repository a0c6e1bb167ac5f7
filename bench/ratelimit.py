#!/usr/bin/env python3
"""The rate limiter (pw-ratelimit, a proxy-wasm filter counting every
request with a compare-and-swap in shared data) in front of the JSON app,
against the app alone measured in the same run (wrk -t2 -c64):

  1. shared data in the process (the default);
  2. shared data in a NATS JetStream bucket (`shared-data` naming a
     `nats://` store), as two hosts would share it: two round trips to the
     NATS server per request, on this machine's loopback.

  python3 bench/ratelimit.py [--duration 5] [--rounds 3]

Needs: wrk, nats-server (`apt-get install wrk nats-server`), a release
build (`cargo build --release`). Each round measures the app alone right
before each configuration; the figures are medians of the paired ratios.
"""

import os
import shutil
import statistics
import subprocess
import tempfile

from common import paired_rounds_args, NANOPOD, free_port, http_workdir, require_http_tools, start, stop, wait_for, wrk

# The limit is far above what the load reaches: every request is counted,
# none refused.
LIMITER = """
[serve]
chain = ["ratelimit", "app"]
[components.ratelimit]
file = "pw-ratelimit.wasm"
config = "100000000"
{shared}
[components.app]
file = "http-app.wasm"
"""

NATS = """grants = {{ keyvalue = ["limits"] }}
shared-data = "limits"
[keyvalue.limits]
url = "nats://127.0.0.1:{port}/ratelimit"
"""


def main():
    args = paired_rounds_args()
    require_http_tools()
    if not shutil.which("nats-server"):
        raise SystemExit("nats-server is missing: apt-get install nats-server")
    work = http_workdir("nanopod-ratelimit-bench-", ("http-app", "pw-ratelimit"))
    env = dict(os.environ, NANOPOD_CACHE_DIR=os.path.join(work, "cache"), RUST_LOG="error")
    nats_port = free_port()
    nats_dir = tempfile.mkdtemp(prefix="nanopod-ratelimit-nats-")
    nats = subprocess.Popen(["nats-server", "-js", "-sd", nats_dir, "-a", "127.0.0.1",
                             "-p", str(nats_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(nats_port)

    def serving(target):
        port = free_port()
        return start([NANOPOD, "serve", "--listen", f"127.0.0.1:{port}", target], port, env=env), port

    def pod(name, shared):
        path = os.path.join(work, f"{name}.toml")
        with open(path, "w") as f:
            f.write(LIMITER.format(shared=shared))
        return path

    rows = [("in the process", pod("local", "")),
            ("in a NATS bucket", pod("nats", NATS.format(port=nats_port)))]
    alone = serving(os.path.join(work, "http-app.wasm"))
    servers = [serving(path) for _, path in rows]
    url = lambda port: f"http://127.0.0.1:{port}/items"
    for _, port in [alone, *servers]:
        wrk(url(port), 1)  # warm up
    d = args.duration
    print(f"rate limiter + app, GET /items, wrk -t2 -c64 -d{d}s, {args.rounds} rounds, medians")
    base_rps, ratios, rps, errors = [], [[] for _ in rows], [[] for _ in rows], 0
    for _ in range(args.rounds):
        for i, (_, port) in enumerate(servers):
            base = wrk(url(alone[1]), d)
            other = wrk(url(port), d)
            errors += base["errors"] + other["errors"]
            base_rps.append(base["rps"])
            rps[i].append(other["rps"])
            ratios[i].append(other["rps"] / base["rps"])
    median = statistics.median
    print(f"  {'app alone':<44} {median(base_rps):>9.0f} req/s")
    for i, (label, _) in enumerate(rows):
        print(f"  {'shared data ' + label:<44} {median(rps[i]):>9.0f} req/s   "
              f"{median(ratios[i]):.2f}x of the app alone")
    print(f"  errors over all runs: {errors}")
    for proc, _ in [alone, *servers]:
        stop(proc)
    nats.terminate()
    nats.wait()
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(nats_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
