#!/usr/bin/env python3
"""HTTP filters in `nanopod serve`, every figure against the app alone
measured in the same run with the same load generator (wrk -t2 -c64):

  1. the JSON app alone, and behind nginx (a reverse-proxy process on
     loopback, keep-alive upstream): the socket sidecar's cost;
  2. the app behind two proxy-wasm filters (pw-auth + pw-log, long-lived
     VMs, synchronous calls);
  3. the app behind two synchronous component filters (cf-stamp twice,
     kept instances);
  4. the wasi:http middleware chain (log + auth, WASI 0.2), fresh instances
     and with `reuse` on the middlewares;
  5. load: at least 100,000 requests at 64 connections through the rate
     limiter (shared data with CAS on every request) + auth + log: errors
     and RSS before/after.

  python3 bench/filters.py [--duration 5] [--rounds 3]

Every server runs from the start; each round measures the app alone
right before each configuration, and the figure printed is the median of
those paired ratios (this machine's throughput drifts by up to 20% within
a minute, the pairing keeps the drift out of the ratio). Each row also
gives the CPU time the configuration's processes (read from /proc) spent
per request beyond the app alone's: what the filters cost, less noisy than
throughput.

Needs: wrk and nginx (`apt-get install wrk nginx`), a release build
(`cargo build --release`). wrk and the server share this machine's cores.
Targets (issue 12): two proxy-wasm filters >= 0.90x of the app alone and
cheaper than the nginx hop; two component filters >= 0.85x.
"""

import os
import shutil
import statistics

from common import (paired_rounds_args, NANOPOD, TOKEN, free_port, http_workdir, load_test, nginx_in_front,
                    require_http_tools, start, stop, wrk, wrk_cpu)

APP = """
[components.app]
file = "http-app.wasm"
"""

AUTH_AND_LOG = f"""
[components.auth]
file = "pw-auth.wasm"
config = "{TOKEN}"
[components.log]
file = "pw-log.wasm"
"""

WASI_HTTP = """
[serve]
chain = ["log", "auth", "app"]
[components.log]
file = "http-log.wasm"
{reuse}
[components.auth]
file = "http-auth.wasm"
grants = {{ ro-dirs = ["secrets::/secrets"] }}
{reuse}
"""

PODS = {
    "proxy-wasm": '[serve]\nchain = ["auth", "log", "app"]\n' + AUTH_AND_LOG + APP,
    "component": """
[serve]
chain = ["stamp1", "stamp2", "app"]
[components.stamp1]
file = "cf-stamp.wasm"
[components.stamp2]
file = "cf-stamp.wasm"
""" + APP,
    "wasi-http-fresh": WASI_HTTP.format(reuse="") + APP,
    "wasi-http-reuse": WASI_HTTP.format(reuse="reuse = 128") + APP,
    # The rate limit is far above what one client reaches here: every
    # request is counted (a compare-and-swap in shared data), none refused.
    "ratelimit": '[serve]\nchain = ["ratelimit", "auth", "log", "app"]\n'
                 '[components.ratelimit]\nfile = "pw-ratelimit.wasm"\nconfig = "100000000"\n'
                 + AUTH_AND_LOG + APP,
}

ROWS = [
    ("nginx", "app behind nginx (reverse-proxy process)"),
    ("proxy-wasm", "app behind 2 proxy-wasm filters (auth + log)"),
    ("component", "app behind 2 component filters (cf-stamp x2)"),
    ("wasi-http-fresh", "app behind 2 wasi:http middlewares, fresh"),
    ("wasi-http-reuse", "app behind 2 wasi:http middlewares, reuse 128"),
]


def main():
    args = paired_rounds_args()
    require_http_tools()
    work = http_workdir("nanopod-filters-bench-",
                        ("http-app", "http-auth", "http-log", "pw-auth", "pw-log", "pw-ratelimit", "cf-stamp"))
    env = dict(os.environ, NANOPOD_CACHE_DIR=os.path.join(work, "cache"))
    # Access logs off: the same for every configuration.
    env["RUST_LOG"] = "error"

    def serving(target):
        port = free_port()
        proc = start([NANOPOD, "serve", "--listen", f"127.0.0.1:{port}", target], port, env=env)
        return proc, port

    def pod(name):
        path = os.path.join(work, f"{name}.toml")
        with open(path, "w") as f:
            f.write(PODS[name])
        return path

    alone, alone_port = serving(os.path.join(work, "http-app.wasm"))
    servers = {"nginx": nginx_in_front(work, alone_port)}
    for name, _ in ROWS[1:]:
        servers[name] = serving(pod(name))
    url = lambda port: f"http://127.0.0.1:{port}/items"
    for _, port in [(alone, alone_port), *servers.values()]:
        wrk(url(port), 1)  # warm up: instances, VMs, connections, caches

    d = args.duration
    print(f"nanopod serve, GET /items, wrk -t2 -c64 -d{d}s (wrk and server on the same 2 cores), "
          f"{args.rounds} rounds, medians")
    base_rps, base_cpu = [], []
    rps, ratios, cpu = ({n: [] for n, _ in ROWS} for _ in range(3))
    errors = 0
    # The processes whose CPU a configuration's requests use: the server
    # (and for nginx, nginx and the app's server behind it).
    pids = {name: [proc.pid] for name, (proc, _) in servers.items()}
    pids["nginx"].append(alone.pid)
    for _ in range(args.rounds):
        for name, _ in ROWS:
            base = wrk_cpu(url(alone_port), d, [alone.pid])
            other = wrk_cpu(url(servers[name][1]), d, pids[name])
            errors += base["errors"] + other["errors"]
            base_rps.append(base["rps"])
            base_cpu.append(base["cpu_us"])
            rps[name].append(other["rps"])
            ratios[name].append(other["rps"] / base["rps"])
            cpu[name].append(other["cpu_us"] - base["cpu_us"])
    median = statistics.median
    print(f"  {'app alone':<48} {median(base_rps):>9.0f} req/s   server CPU {median(base_cpu):.1f} us per request")
    for name, label in ROWS:
        spread = ", ".join(f"{r:.2f}" for r in ratios[name])
        print(f"  {label:<48} {median(rps[name]):>9.0f} req/s   {median(ratios[name]):.2f}x of the app alone"
              f"  (rounds: {spread});  +{median(cpu[name]):.1f} us CPU per request")
    print(f"  errors over all runs: {errors}")
    r = lambda name: median(ratios[name])
    print(f"  -> proxy-wasm filters {r('proxy-wasm'):.2f}x (target >= 0.90), nginx hop {r('nginx'):.2f}x: "
          f"filters {'cheaper' if r('proxy-wasm') > r('nginx') else 'NOT cheaper'} than the socket sidecar")
    print(f"  -> component filters {r('component'):.2f}x (target >= 0.85)")
    for proc, _ in [(alone, alone_port), *servers.values()]:
        stop(proc)

    # Load: at least 100,000 requests at 64 connections through the rate
    # limiter, auth and log.
    proc, port = serving(pod("ratelimit"))
    load_test(proc, url(port), 4 * d, "ratelimit + auth + log + app")
    stop(proc)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
