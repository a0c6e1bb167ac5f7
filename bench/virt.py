#!/usr/bin/env python3
"""`nanopod virtualize` benchmarks: reading a 100 MiB file embedded in the
component against the same file from a real `--ro-dir`, in the same run
with the same `files` guest; and the size an embedded byte costs.

  python3 bench/virt.py                  # nanopod run, both ways
  python3 bench/virt.py --wasmtime PATH  # also under `wasmtime run` (wasmtime-cli 48)

Results go to stdout; docs/benchmarks.md records them.
"""

import argparse
import os
import subprocess
import tempfile
import time

from common import NANOPOD, ROOT, guest, make_file, timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--wasmtime", help="a wasmtime-cli 48 binary to compare with")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--bin", "nanopod"], cwd=ROOT, check=True)
    files = guest("files")
    tmp = tempfile.mkdtemp(prefix="nanopod-virt-bench-")
    assets = os.path.join(tmp, "assets")
    os.mkdir(assets)
    make_file(os.path.join(assets, "big.bin"), args.mib << 20)
    virt = os.path.join(tmp, "files.virt.wasm")

    start = time.perf_counter()
    subprocess.run([NANOPOD, "virtualize", "--dir", f"{assets}::/assets", files, "-o", virt],
                   check=True, stderr=subprocess.DEVNULL)
    t_virtualize = time.perf_counter() - start
    embedded = args.mib << 20
    fixed = os.path.getsize(virt) - os.path.getsize(files) - embedded

    op = ["sum", "/assets/big.bin"]
    real = [NANOPOD, "run", "--ro-dir", f"{assets}::/assets", files] + op
    embedded_run = [NANOPOD, "run", virt] + op
    # The first runs compile into the cache; the timed ones start warm.
    start = time.perf_counter()
    subprocess.run(embedded_run, check=True, stdout=subprocess.DEVNULL)
    t_first = time.perf_counter() - start
    subprocess.run(real, check=True, stdout=subprocess.DEVNULL)
    t_real = timed(real, args.runs)
    t_virt = timed(embedded_run, args.runs)
    # Start-up alone: the same runs reading no file.
    noop = ["env", "X"]
    t_real0 = timed(real[:-2] + noop, args.runs, check=False)
    t_virt0 = timed(embedded_run[:-2] + noop, args.runs, check=False)

    print(f"# nanopod virtualize benchmarks ({os.cpu_count()} CPUs, median of {args.runs})")
    print(f"virtualize {args.mib} MiB: {t_virtualize * 1000:.0f} ms; output = original + "
          f"embedded bytes + {fixed / 1024:.0f} KiB ({(embedded + fixed) / embedded:.4f} "
          f"bytes per embedded byte); first run (compile) {t_first:.2f} s")
    print(f"read {args.mib} MiB with nanopod run: --ro-dir {t_real * 1000:.0f} ms "
          f"({args.mib / t_real:,.0f} MiB/s), embedded {t_virt * 1000:.0f} ms "
          f"({args.mib / t_virt:,.0f} MiB/s): {t_real / t_virt:.2f}x the --ro-dir throughput")
    r_real, r_virt = t_real - t_real0, t_virt - t_virt0
    print(f"  of which start-up (the same run reading nothing): --ro-dir {t_real0 * 1000:.0f} ms, "
          f"embedded {t_virt0 * 1000:.0f} ms; the reads alone: --ro-dir {args.mib / r_real:,.0f} MiB/s, "
          f"embedded {args.mib / r_virt:,.0f} MiB/s ({r_real / r_virt:.2f}x)")
    if args.wasmtime:
        w_real = [args.wasmtime, "run", "--dir", f"{assets}::/assets", files] + op
        w_virt = [args.wasmtime, "run", virt] + op
        for cmd in (w_real, w_virt):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        t_wreal = timed(w_real, args.runs)
        t_wvirt = timed(w_virt, args.runs)
        print(f"read {args.mib} MiB with wasmtime run: --dir {t_wreal * 1000:.0f} ms, "
              f"embedded {t_wvirt * 1000:.0f} ms: {t_wreal / t_wvirt:.2f}x")


if __name__ == "__main__":
    main()
