#!/usr/bin/env python3
"""Streams across hosts: the throughput of `stream<u8>` values through a
remote link, against the same pod with the filter in-process and against a
native TCP echo, all measured in the same run; and the memory each side
holds while gigabytes go through.

The `text-client` app hands its streams to `example:text/filter`:

  - shout:   stream in, stream out (the filter upper-cases);
  - measure: stream in, u64 out (the filter counts);
  - fill:    u64 in, stream out (the filter produces);

  - remote: the link says `remote = "tcp://…"`, served by `nanopod export`
    in another process on loopback;
  - local:  the same pod with the filter in-process;
  - raw:    a native TCP echo of 1 MiB frames between two native processes
    (crates/nanopod-remote/examples/tcp_echo.rs), bytes both ways per
    second: what the loopback itself carries.

Throughputs are slopes between a small and a large stream, so start-up and
compilation cancel out. Peak RSS is the caller's (from wait4) and the
exporter's (its VmHWM after every run).

  python3 bench/remote_stream.py [--mib 1024]

Needs a release build: `cargo build --release` and
`cargo build --release -p nanopod-remote --example tcp_echo`.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from common import NANOPOD, guest, make_file
from remote import exporter_and_echo, raw_us

SMALL_MIB = 16


def run_up(pod, args):
    """Runs `nanopod up POD ARGS`; returns (seconds, peak RSS in MiB)."""
    t = time.perf_counter()
    p = subprocess.Popen([NANOPOD, "up", pod] + args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"nanopod up {pod} {' '.join(args)} exited {p.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def best(pod, args, runs=3):
    results = [run_up(pod, args) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def mib_per_s(pod, args_for, big_mib):
    """Throughput in MiB/s from the slope between SMALL_MIB and big_mib,
    and the caller's peak RSS on the big one."""
    small, _ = best(pod, args_for(SMALL_MIB))
    big, rss = best(pod, args_for(big_mib))
    return (big_mib - SMALL_MIB) / (big - small), rss


def vm_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024, help="size of the large stream")
    big = ap.parse_args().mib
    client, filt = guest("text-client"), guest("text-filter")
    tmp = tempfile.mkdtemp(prefix="nanopod-stream-bench-")
    exporter, addr, echo, echo_addr = exporter_and_echo(filt)
    pods = {}
    for mode in ("local", "remote"):
        path = os.path.join(tmp, f"{mode}.toml")
        with open(path, "w") as f:
            f.write(f'entry = "app"\n[components.app]\nfile = "{client}"\n')
            if mode == "local":
                f.write(f'[components.filter]\nfile = "{filt}"\n')
                link = 'to = "filter"'
            else:
                link = f'remote = "tcp://{addr}"'
            f.write(f'[[link]]\nfrom = "app"\nimport = "example:text/filter"\n{link}\n')
        pods[mode] = path
    files = {}
    for mib in (SMALL_MIB, big):
        files[mib] = os.path.join(tmp, f"{mib}.txt")
        make_file(files[mib], mib << 20)
    cases = [
        ("shout (in+out)", lambda m: ["--invoke", "shout", files[m], "-o", "/dev/null"]),
        ("measure (in)", lambda m: ["--invoke", "measure", files[m]]),
        ("fill (out)", lambda m: ["--invoke", "fill", "65", str(m << 20), "-o", "/dev/null"]),
    ]
    try:
        subprocess.run([NANOPOD, "compile", client], check=True, capture_output=True)
        raw = 2 * (1 << 20) / (raw_us(echo_addr, 1 << 20, 400) / 1e6) / (1 << 20)
        print(f"{big} MiB streams; raw TCP echo of 1 MiB frames: {raw:.0f} MiB/s (both ways)\n")
        print(f"{'call':<16} {'in pod':>12} {'remote':>12} {'remote/in pod':>14} "
              f"{'caller RSS in pod':>18} {'remote':>8}")
        for name, args_for in cases:
            local, local_rss = mib_per_s(pods["local"], args_for, big)
            remote, remote_rss = mib_per_s(pods["remote"], args_for, big)
            print(f"{name:<16} {local:>7.0f} MiB/s {remote:>7.0f} MiB/s {remote / local:>13.2f}x "
                  f"{local_rss:>15.0f} MiB {remote_rss:>5.0f} MiB")
        print(f"\nexporter peak RSS over all runs: {vm_hwm_mib(exporter.pid):.0f} MiB")
    finally:
        for p in (exporter, echo):
            p.terminate()
            p.wait()
        for path in files.values():
            os.remove(path)


if __name__ == "__main__":
    main()
