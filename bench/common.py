"""What every benchmark script shares: where the release binary is, and the
paths of the built guest components."""

import os
import socket
import statistics
import subprocess
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
