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
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from common import NANOPOD, ROOT, free_port, guest
TOKEN = "s3cret-token"
AUTH = f"Authorization: Bearer {TOKEN}"



def wait_for(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on port {port}")


def start(cmd, port, **kw):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    wait_for(port)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wrk(url, duration, connections=64, header=AUTH):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-H", header]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "total": total, "errors": bad}


def show(label, r, base=None, of="the app alone"):
    ratio = f"   {r['rps'] / base['rps']:.2f}x of {of}" if base else ""
    print(f"  {label:<44} {r['rps']:>9.0f} req/s  p50 {r['p50']:>8}  p99 {r['p99']:>8}  errors {r['errors']}{ratio}")


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream app {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
}}
"""

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wasmtime", help="wasmtime-cli 48, for the wasmtime serve comparison")
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is missing: apt-get install {tool}")
    if not os.path.exists(NANOPOD):
        sys.exit("build nanopod first: cargo build --release")

    work = tempfile.mkdtemp(prefix="nanopod-serve-bench-")
    for name in ("http-app", "http-auth", "http-log"):
        shutil.copy(guest(name), os.path.join(work, f"{name}.wasm"))
    os.makedirs(os.path.join(work, "secrets"))
    with open(os.path.join(work, "secrets", "token"), "w") as f:
        f.write(TOKEN + "\n")
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

    nginx_port = free_port()
    with open(os.path.join(work, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(dir=work, upstream=port, port=nginx_port))
    nginx = start(["nginx", "-c", os.path.join(work, "nginx.conf"), "-g", "daemon off;"], nginx_port)
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
    wrk(f"http://127.0.0.1:{port}/items", 2)
    rss_start = rss_kib(pod.pid)
    load = wrk(f"http://127.0.0.1:{port}/items", max(20, 2 * d))
    rss_end = rss_kib(pod.pid)
    stop(pod)
    print(f"load: {load['total']} requests at 64 connections through log + auth + app "
          f"({load['rps']:.0f} req/s): {load['errors']} errors, "
          f"RSS {rss_start / 1024:.1f} MiB -> {rss_end / 1024:.1f} MiB"
          + ("" if load["total"] >= 100_000 else "  (fewer than 100,000: raise --duration)"))

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
