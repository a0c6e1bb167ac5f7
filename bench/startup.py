#!/usr/bin/env python3
"""Start-up of large components: median wall time of warm `nanopod run`s
(the compile cache already filled) of

  - the componentize-py fixture (tests/fixtures/python, about 18 MB), when
    componentize-py is installed;
  - the `files` guest with 100 MiB embedded by `nanopod virtualize`.

  python3 bench/startup.py [--runs 21]

Needs `cargo build --release`. To compare two versions of nanopod (the
cache-key hash, say), build each in turn and run this script after each.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from common import NANOPOD, ROOT, guest, make_file


def median_ms(cmd, runs):
    for _ in range(3):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    runs = ap.parse_args().runs
    tmp = tempfile.mkdtemp(prefix="nanopod-startup-bench-")
    try:
        cases = []
        if shutil.which("componentize-py"):
            py = os.path.join(tmp, "py.wasm")
            subprocess.run(
                ["componentize-py", "-d", "calc.wit", "-w", "calc", "componentize", "app", "-o", py],
                cwd=os.path.join(ROOT, "tests", "fixtures", "python"),
                check=True, capture_output=True,
            )
            cases.append(("componentize-py", py, ["--invoke", "hello", "World"]))
        assets = os.path.join(tmp, "assets")
        os.mkdir(assets)
        make_file(os.path.join(assets, "big.txt"), 100 << 20)
        virt = os.path.join(tmp, "files.virt.wasm")
        subprocess.run([NANOPOD, "virtualize", "--dir", f"{assets}::/assets", guest("files"),
                        "-o", virt], check=True, capture_output=True)
        cases.append(("virtualized, 100 MiB", virt, ["stat", "/assets/big.txt"]))
        for name, path, args in cases:
            size = os.path.getsize(path) / (1 << 20)
            ms = median_ms([NANOPOD, "run", path] + args, runs)
            print(f"{name:<22} {size:>6.1f} MiB  warm run {ms:6.1f} ms (median of {runs})")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
