#!/usr/bin/env python3
"""Remote links: the cost of moving a component off-host, every figure
against baselines measured in the same run.

For `add(u32, u32) -> u32` and `echo(list<u8>) -> list<u8>` with 1 KiB and
1 MiB, each call made by the calc-driver guest through its import:

  - remote: the link says `remote = "tcp://…"`, served by `nanopod export`
    in another process on loopback (wRPC over TCP), a fresh instance per
    call;
  - reused: the same with `nanopod export --reuse 1000000` (one instance
    serves the calls in turn);
  - local:  the same pod with the link to a component in the pod;
  - nats:   the same exporter behind a NATS server (`nats-server`, Debian),
            when one is installed (payloads up to its 1 MiB max_payload);
  - raw:    a native TCP echo of the same payload between two native
            processes (crates/nanopod-remote/examples/tcp_echo.rs).

Per-call times are slopes: the time of `nanopod up` with N calls minus the
time with a few, divided by the difference, so process start-up and
compilation cancel out.

  python3 bench/remote.py

Needs a release build: `cargo build --release` and
`cargo build --release -p nanopod-remote --example tcp_echo`.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from common import NANOPOD, ROOT, free_port, guest
ECHO = os.path.join(ROOT, "target", "release", "examples", "tcp_echo")



def start(cmd, from_stderr):
    """Starts `cmd`, returns (process, its first line on stdout or stderr).
    The rest of that stream is drained so the process never blocks on it
    (the exporter logs a line per call)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stream = p.stderr if from_stderr else p.stdout
    line = stream.readline()
    threading.Thread(target=stream.read, daemon=True).start()
    return p, line.strip()


def timed(cmd, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def per_call_us(pod, invoke, n, size=None):
    """Slope of `nanopod up` time over n calls, in microseconds."""
    def cmd(k):
        c = [NANOPOD, "up", pod, "--invoke", invoke, str(k)]
        return c + ([str(size)] if size is not None else [])
    few = max(1, n // 50)
    return (timed(cmd(n)) - timed(cmd(few))) / (n - few) * 1e6


def raw_us(addr, size, n):
    out = subprocess.run([ECHO, "client", addr, str(size), str(n)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout)


def exporter(component, *flags):
    """Starts `nanopod export FLAGS COMPONENT` on a free loopback port:
    (the process, its host:port)."""
    p, line = start([NANOPOD, "export", "--listen", "tcp://127.0.0.1:0", *flags, component], True)
    return p, line.split("tcp://")[1].split()[0]


def exporters_and_echo(component):
    """Starts `nanopod export COMPONENT` (fresh instances, and reused
    ones) and the native echo server on free loopback ports: (the
    processes, the exporters' host:port, the echo's host:port)."""
    for path in (NANOPOD, ECHO):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: see the build commands at the top of this script")
    fresh, fresh_addr = exporter(component)
    reused, reused_addr = exporter(component, "--reuse", "1000000")
    echo, echo_addr = start([ECHO, "serve", "127.0.0.1:0"], False)
    return [fresh, reused, echo], (fresh_addr, reused_addr), echo_addr


def main():
    calc, driver = guest("calc"), guest("calc-driver")
    tmp = tempfile.mkdtemp(prefix="nanopod-remote-bench-")
    procs, (remote_addr, reused_addr), echo_addr = exporters_and_echo(calc)
    links = [("local", 'to = "calc"'), ("remote", f'remote = "tcp://{remote_addr}"'),
             ("reused", f'remote = "tcp://{reused_addr}"')]
    extra = []
    if shutil.which("nats-server"):
        port = free_port()
        nats = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        url = f"nats://127.0.0.1:{port}/bench.calc"
        nats_exporter, _ = start([NANOPOD, "export", "--listen", url, calc], True)
        extra = [nats_exporter, nats]
        links.append(("nats", f'remote = "{url}"'))
    pods = {}
    for mode, link in links:
        path = os.path.join(tmp, f"{mode}.toml")
        with open(path, "w") as f:
            f.write(f'entry = "driver"\n[components.driver]\nfile = "{driver}"\n')
            if mode == "local":
                f.write(f'[components.calc]\nfile = "{calc}"\n')
            f.write(f'[[link]]\nfrom = "driver"\nimport = "example:calc/ops"\n{link}\n')
        pods[mode] = path
    try:
        subprocess.run([NANOPOD, "compile", driver], check=True, capture_output=True)
        rows = []
        cases = [
            # name, invoke, size, raw bytes, (local n, remote n, raw n)
            ("add", "call-add", None, 8, (2_000_000, 5_000, 20_000)),
            ("echo 1 KiB", "call-echo", 1024, 1024, (100_000, 3_000, 20_000)),
            ("echo 1 MiB", "call-echo", 1 << 20, 1 << 20, (200, 40, 400)),
        ]
        for name, invoke, size, raw_size, (n_local, n_remote, n_raw) in cases:
            local = per_call_us(pods["local"], invoke, n_local, size)
            remote = per_call_us(pods["remote"], invoke, n_remote, size)
            reused = per_call_us(pods["reused"], invoke, n_remote, size)
            raw = raw_us(echo_addr, raw_size, n_raw)
            nats = None
            if "nats" in pods and raw_size < (1 << 20):
                nats = per_call_us(pods["nats"], invoke, n_remote, size)
            rows.append((name, local, remote, reused, raw, nats))
        print(f"{'call':<12} {'in pod':>10} {'remote':>10} {'reused':>10} {'raw TCP echo':>13} "
              f"{'remote/raw':>11} {'reused/raw':>11} {'remote/in pod':>14}")
        for name, local, remote, reused, raw, _ in rows:
            print(f"{name:<12} {local:>8.3f}us {remote:>8.1f}us {reused:>8.1f}us {raw:>11.1f}us "
                  f"{remote / raw:>10.2f}x {reused / raw:>10.2f}x {remote / local:>13.0f}x")
        for name, _, remote, _, raw, nats in rows:
            if nats is not None:
                print(f"{name:<12} over NATS: {nats:.1f}us ({nats / raw:.2f}x raw, "
                      f"{nats / remote:.2f}x TCP)")
        name, _, remote, _, raw, _ = rows[-1]
        mib_s = lambda us: 2 * (1 << 20) / (us / 1e6) / (1 << 20)
        print(f"\n1 MiB echo throughput: remote {mib_s(remote):.0f} MiB/s, "
              f"raw {mib_s(raw):.0f} MiB/s: {raw / remote:.2f}x of raw "
              f"(bytes both ways per second)")
    finally:
        for p in procs + extra:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
