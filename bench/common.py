"""What every benchmark script shares: where the release binary is, the
paths of the built guest components, and for the HTTP benchmarks, starting
servers and measuring them with wrk."""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NANOPOD = os.path.join(ROOT, "target", "release", "nanopod")


def guest(name):
    """The path of guest NAME, built in release mode if need be."""
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "test-programs-artifacts",
         "--bin", "guest-path", "--", name],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return out.stdout.strip()


def free_port():
    """A loopback port nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_file(path, size):
    """Writes SIZE bytes (whole MiB) of text lines to PATH."""
    line = b"the quick brown fox jumps over the lazy dog 0123456789\n"
    block = line * ((1 << 20) // len(line) + 1)
    block = block[: 1 << 20]
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(block)


def timed(cmd, runs, stdin=None, stdout=subprocess.DEVNULL, check=True):
    """Median wall time of `runs` runs of `cmd` (a list or a shell string)."""
    times = []
    for _ in range(runs):
        fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
        start = time.perf_counter()
        subprocess.run(cmd, stdin=fin, stdout=stdout, check=check, shell=isinstance(cmd, str))
        times.append(time.perf_counter() - start)
        if stdin:
            fin.close()
    return statistics.median(times)


def paired_rounds_args():
    """`--duration` (seconds per wrk run) and `--rounds`, for the HTTP
    benchmarks that pair each configuration with the app alone."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    return ap.parse_args()


# HTTP: servers, wrk, nginx as the reverse-proxy baseline.

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


def require_http_tools():
    """Exits with what to install when wrk, nginx or the release build is missing."""
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is missing: apt-get install {tool}")
    if not os.path.exists(NANOPOD):
        sys.exit("build nanopod first: cargo build --release")


def http_workdir(prefix, guests):
    """A fresh directory holding GUESTS as NAME.wasm and secrets/token."""
    work = tempfile.mkdtemp(prefix=prefix)
    for name in guests:
        shutil.copy(guest(name), os.path.join(work, f"{name}.wasm"))
    os.makedirs(os.path.join(work, "secrets"))
    with open(os.path.join(work, "secrets", "token"), "w") as f:
        f.write(TOKEN + "\n")
    return work


def nginx_in_front(work, upstream):
    """nginx as a reverse proxy to 127.0.0.1:UPSTREAM: (process, port)."""
    port = free_port()
    conf = os.path.join(work, f"nginx-{port}.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=work, upstream=upstream, port=port))
    return start(["nginx", "-c", conf, "-g", "daemon off;"], port), port


def load_test(proc, url, duration, through):
    """Runs at least DURATION (and 20) seconds of load against URL served by
    PROC and prints the requests, errors and RSS before and after."""
    wrk(url, 2)
    rss_start = rss_kib(proc.pid)
    load = wrk(url, max(20, duration))
    rss_end = rss_kib(proc.pid)
    print(f"load: {load['total']} requests at 64 connections through {through} "
          f"({load['rps']:.0f} req/s): {load['errors']} errors, "
          f"RSS {rss_start / 1024:.1f} MiB -> {rss_end / 1024:.1f} MiB"
          + ("" if load["total"] >= 100_000 else "  (fewer than 100,000: raise --duration)"))


def cpu_seconds(pids):
    """User + system CPU seconds used so far by PIDS and their children
    (nginx's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    seen = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return total / tick


def wrk_cpu(url, duration, pids):
    """wrk against URL, with the CPU microseconds PIDS spent per request."""
    before = cpu_seconds(pids)
    result = wrk(url, duration)
    result["cpu_us"] = (cpu_seconds(pids) - before) * 1e6 / max(result["total"], 1)
    return result
