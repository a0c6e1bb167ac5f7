"""What every benchmark script shares: where the release binary is, and the
paths of the built guest components."""

import os
import socket
import subprocess

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
