#!/usr/bin/env python3
"""nanopod serve benchmarks, every figure against a baseline measured in the
same run with the same load generator (wrk, Debian package `wrk`):

  1. the JSON app alone, behind its two in-process middlewares (log, auth),
     and behind nginx as a reverse-proxy sidecar process on loopback;
  2. nanopod serve vs `wasmtime serve` (wasmtime-cli 48) on the same handler
     (the WASI 0.2 one, and the WASI 0.3 one with fresh and reused instances);
  3. load: at least 100,000 requests at 64 connections, errors and RSS
     before/after.

  python3 bench/serve.py [--wasmtime bench/.tools/bin/wasmtime] [--duration 10]

Needs: wrk and nginx (`apt-get install wrk nginx`), a release build
(`cargo build --release`). wrk and the server share this machine's cores;
the figures compare configurations under the same placement.
"""

import argparse
import os
import shutil

from common import (NANOPOD, ROOT, free_port, guest, http_workdir, load_test, nginx_in_front,
                    require_http_tools, show, start, stop, wrk)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wasmtime", help="wasmtime-cli 48, for the wasmtime serve comparison")
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()
    require_http_tools()
    work = http_workdir("nanopod-serve-bench-", ("http-app", "http-auth", "http-log"))
    shutil.copy(os.path.join(ROOT, "examples", "http", "pod.toml"), os.path.join(work, "pod.toml"))
    app = os.path.join(work, "http-app.wasm")
    d = args.duration
    env = dict(os.environ, NANOPOD_CACHE_DIR=os.path.join(work, "cache"))
    # Access logs off for the measurement: the same for every configuration.
    env["RUST_LOG"] = "error"

    print(f"nanopod serve, GET /items, wrk -t2 -c64 -d{d}s (wrk and server on the same 2 cores)")
    port = free_port()
    alone = start([NANOPOD, "serve", "--listen", f"127.0.0.1:{port}", app], port, env=env)
    base = wrk(f"http://127.0.0.1:{port}/items", d)
    show("app alone", base)

    nginx, nginx_port = nginx_in_front(work, port)
    show("app behind nginx (reverse-proxy process)", wrk(f"http://127.0.0.1:{nginx_port}/items", d), base)
    stop(nginx)
    stop(alone)

    port = free_port()
    pod = start([NANOPOD, "serve", "--listen", f"127.0.0.1:{port}", os.path.join(work, "pod.toml")],
                port, env=env)
    chained = wrk(f"http://127.0.0.1:{port}/items", d)
    show("app behind log + auth, in-process", chained, base)
    print(f"  -> the two in-process middlewares cost {100 * (1 - chained['rps'] / base['rps']):.1f}% of throughput (target < 10%)")

    # Load: long enough for at least 100,000 requests at 64 connections.
    load_test(pod, f"http://127.0.0.1:{port}/items", 2 * d, "log + auth + app")
    stop(pod)

    # WASI 0.3: the same shape, with the middlewares composed statically.
    for name in ("p3-http-app", "p3-http-auth", "p3-http-log"):
        shutil.copy(guest(name), os.path.join(work, f"{name}.wasm"))
    shutil.copy(os.path.join(ROOT, "examples", "http3", "pod.toml"), os.path.join(work, "pod3.toml"))
    print(f"WASI 0.3 handlers, GET /items, wrk -t2 -c64 -d{d}s")

    def served(*words):
        """wrk against `nanopod serve WORDS`."""
        port = free_port()
        proc = start([NANOPOD, "serve", "--listen", f"127.0.0.1:{port}", *words], port, env=env)
        result = wrk(f"http://127.0.0.1:{port}/items", d)
        stop(proc)
        return result

    app3, pod3 = os.path.join(work, "p3-http-app.wasm"), os.path.join(work, "pod3.toml")
    base3 = served(app3)
    show("0.3 app alone", base3)
    chained3 = served(pod3)
    show("0.3 app behind log + auth, composed statically", chained3, base3)
    print(f"  -> the two composed middlewares cost {100 * (1 - chained3['rps'] / base3['rps']):.1f}% "
          f"of throughput (target < 10%)")
    reused3 = served("--reuse", "128", app3)
    show("0.3 app alone, --reuse 128", reused3, base3, of="fresh instances")
    reused_chain3 = served("--reuse", "128", pod3)
    show("0.3 app behind log + auth, --reuse 128", reused_chain3, reused3,
         of="the app alone with --reuse 128")

    if args.wasmtime:
        def wasmtime_served(*words):
            port = free_port()
            proc = start([args.wasmtime, "serve", "-S", "cli=y", "--addr", f"127.0.0.1:{port}", *words], port)
            result = wrk(f"http://127.0.0.1:{port}/items", d)
            stop(proc)
            return result

        ours, theirs = served(app), wasmtime_served(app)
        print(f"nanopod serve vs wasmtime serve, same handler (http-app), wrk -t2 -c64 -d{d}s")
        show("wasmtime serve -S cli=y", theirs)
        show("nanopod serve", ours)
        print(f"  -> nanopod/wasmtime throughput {ours['rps'] / theirs['rps']:.2f}x (target >= 1.0)")
        p3 = ["-S", "p3=y", "-W", "component-model-async=y"]
        fresh = wasmtime_served(*p3, "--max-instance-reuse-count", "1", app3)
        reusing = wasmtime_served(*p3, app3)
        print("the WASI 0.3 handler (p3-http-app): wasmtime serve gives a fresh instance per "
              "request only when told to; by default an instance takes 128 requests, 16 at a time")
        show("wasmtime serve, fresh instances", fresh)
        show("nanopod serve (fresh instances)", base3, fresh, of="wasmtime serve")
        show("wasmtime serve, default reuse", reusing)
        show("nanopod serve --reuse 128", reused3, reusing, of="wasmtime serve")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
