#!/usr/bin/env python3
"""nanopod run benchmarks: each figure is a ratio against a baseline
measured in the same run, on the same file.

  python3 bench/bench.py                 # stream throughput, upper, start-up
  python3 bench/bench.py --wasmtime PATH # also compare start-up with `wasmtime run`

`wasmtime` (wasmtime-cli 48) is not built by CI: build it once with
`cargo install wasmtime-cli@48.0.8 --locked --root bench/.tools`.
Results go to stdout; docs/benchmarks.md records them.
"""

import argparse
import os
import subprocess
import sys
import tempfile

from common import NANOPOD, ROOT, guest, make_file, timed


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wasmtime", help="path to wasmtime-cli 48 for the start-up comparison")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--gib", type=int, default=1, help="size of the throughput file in GiB")
    args = ap.parse_args()

    sh(["cargo", "build", "--release", "--bin", "nanopod"], cwd=ROOT)
    identity, upper, kitchen = guest("identity"), guest("upper"), guest("kitchen")
    legacy = guest("legacy")
    env = dict(os.environ, NANOPOD_CACHE_DIR=tempfile.mkdtemp(prefix="nanopod-bench-cache-"))
    os.environ.update(env)
    for g in (identity, upper, kitchen, legacy):
        sh([NANOPOD, "compile", g], stderr=subprocess.DEVNULL)

    tmp = tempfile.mkdtemp(prefix="nanopod-bench-")
    big = os.path.join(tmp, "big.txt")
    make_file(big, args.gib << 30)
    mid = os.path.join(tmp, "mid.txt")
    make_file(mid, 256 << 20)
    # Warm the page cache.
    timed(["cat", big], 1)
    timed(["cat", mid], 1)

    print(f"# nanopod run benchmarks ({os.cpu_count()} CPUs, median of {args.runs})")
    mib = (args.gib << 30) / (1 << 20)
    t_cat = timed(f"cat {big} > /dev/null", args.runs)
    t_id = timed([NANOPOD, "run", identity, big], args.runs)
    print(f"identity stream<u8>, {args.gib} GiB: cat {mib / t_cat:,.0f} MiB/s, "
          f"nanopod {mib / t_id:,.0f} MiB/s -> ratio {t_cat / t_id:.2f} (target >= 0.8)")

    t_tr = timed("tr a-z A-Z", args.runs, stdin=mid)
    t_up = timed([NANOPOD, "run", upper, mid], args.runs)
    print(f"upper, 256 MiB: tr {256 / t_tr:,.0f} MiB/s, nanopod {256 / t_up:,.0f} MiB/s "
          f"-> ratio {t_tr / t_up:.2f} (target >= 1.0)")

    vdir = os.path.join(tmp, "vfs")
    os.mkdir(vdir)
    make_file(os.path.join(vdir, "big.txt"), 100 << 20)
    cat_in = [legacy, "cat", "/d/big.txt"]
    t_dir = timed([NANOPOD, "run", "--ro-dir", f"{vdir}::/d"] + cat_in, args.runs)
    t_vfs = timed([NANOPOD, "run", "--vfs", f"{vdir}::/d"] + cat_in, args.runs)
    print(f"legacy cat of a 100 MiB file: --ro-dir {t_dir * 1000:.0f} ms, --vfs (copy to tmpfs included) "
          f"{t_vfs * 1000:.0f} ms -> --vfs/--ro-dir time {t_vfs / t_dir:.2f}")

    runs = max(args.runs * 4, 20)
    t_np = timed([NANOPOD, "run", kitchen, "--invoke", "add", "1", "2"], runs)
    line = f"start-up, typed `add` with a warm cache: nanopod {t_np * 1000:.1f} ms"
    if args.wasmtime:
        # Both with a warm compile cache: wasmtime's own cache is opt-in.
        wt = [args.wasmtime, "run", "-C", "cache=y", "--invoke", "add(1, 2)", kitchen]
        sh(wt, stdout=subprocess.DEVNULL)
        t_wt = timed(wt, runs)
        line += f", wasmtime run -C cache=y {t_wt * 1000:.1f} ms -> nanopod/wasmtime {t_np / t_wt:.2f} (target <= 1.0)"
    print(line)


if __name__ == "__main__":
    sys.exit(main())
