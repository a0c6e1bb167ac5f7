#!/usr/bin/env python3
"""`nanopod run` of a function taking a large `list<u8>`: peak memory
against the input's size, and time against a baseline in the same run.

`kitchen`'s `checksum: func(data: list<u8>) -> string` is on the byte fast
path (nanopod-bulk): the file is read into one buffer of its size and
copied once into the guest. For each size the script prints the peak RSS
of the `nanopod run` process (`ru_maxrss` of the child), the same for a
run of the guest's `repeat 65 1` (the fixed cost of nanopod, wasmtime and
the guest: the baseline), and the input-attributable peak as a multiple
of the input:

    (peak - baseline peak) / input size

and the wall time against `cat FILE > /dev/null` (reading the bytes once).

  python3 bench/byte_list.py                 # 64 and 256 MiB, 1 GiB
  python3 bench/byte_list.py --mib 64

Needs a release build: `cargo build --release`.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

from common import NANOPOD, guest


def peak_kib(cmd):
    """Runs `cmd` in a fresh process, returns (its peak RSS in KiB, its
    wall time in seconds, its stdout). Each run is measured by a child
    Python so that ru_maxrss belongs to that one run."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True)\n"
        "t = time.perf_counter() - t\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, t, p.stdout.decode().strip())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd],
                         capture_output=True, text=True, check=True).stdout.split(maxsplit=2)
    return int(out[0]), float(out[1]), out[2] if len(out) > 2 else ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, nargs="*", default=[64, 256, 1023])
    args = parser.parse_args()
    if not os.path.exists(NANOPOD):
        sys.exit(f"missing {NANOPOD}: cargo build --release")
    kitchen = guest("kitchen")
    base, _, _ = peak_kib([NANOPOD, "run", kitchen, "--invoke", "repeat", "65", "1"])
    print(f"baseline (repeat 65 1): peak {base / 1024:.1f} MiB")
    print("| input | peak RSS | (peak - baseline) / input | time | cat | time / cat |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mib in args.mib:
            path = os.path.join(tmp, f"in-{mib}.bin")
            with open(path, "wb") as f:
                block = bytes(range(256)) * 4096
                for _ in range(mib):
                    f.write(block)
            best = None
            for _ in range(3):
                run = peak_kib([NANOPOD, "run", kitchen, "--invoke", "checksum", path])
                best = run if best is None or run[1] < best[1] else best
            peak, secs, printed = best
            assert printed.startswith(f"{mib << 20}:"), printed
            cat = min(peak_kib(["sh", "-c", f"cat '{path}' > /dev/null"])[1] for _ in range(3))
            ratio = (peak - base) / (mib * 1024)
            print(f"| {mib} MiB | {peak / 1024:.0f} MiB | {ratio:.2f}× | {secs * 1000:.0f} ms"
                  f" | {cat * 1000:.0f} ms | {secs / cat:.1f}× |")
            os.remove(path)


if __name__ == "__main__":
    main()
