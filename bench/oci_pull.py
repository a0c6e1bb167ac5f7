#!/usr/bin/env python3
"""Pull of a 12 MiB Wasm artifact from a registry on loopback (Debian's
`docker-registry`, plain HTTP): `nanopod pull` into an empty cache
(manifest, layer streamed, sha256 checked, renamed into the cache) against
`curl` of the same layer blob, measured in the same run.

  python3 bench/oci_pull.py [--runs 15]

Needs docker-registry and curl (`apt-get install docker-registry curl`) and
a release build (`cargo build --release`). Prints medians and their ratio.
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile

from common import NANOPOD, free_port, start, stop, timed

SIZE = 12 << 20


def leb(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def section(kind, body):
    return bytes([kind]) + leb(len(body)) + body


def module_of(size):
    """A valid core module whose one data segment holds `size` random bytes."""
    pages = (size >> 16) + 1
    memory = section(5, leb(1) + b"\x00" + leb(pages))
    segment = leb(1) + b"\x00" + b"\x41\x00\x0b" + leb(size) + os.urandom(size)
    return b"\x00asm\x01\x00\x00\x00" + memory + section(11, segment)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="nanopod-oci-bench-")
    port = free_port()
    addr = f"127.0.0.1:{port}"
    config = os.path.join(work, "config.yml")
    with open(config, "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                f"    rootdirectory: {work}/data\nhttp:\n  addr: {addr}\n")
    registry = start(["docker-registry", "serve", config], port)
    try:
        wasm = os.path.join(work, "big.wasm")
        with open(wasm, "wb") as f:
            f.write(module_of(SIZE))
        env = dict(os.environ, NANOPOD_INSECURE_REGISTRIES=addr)
        env.pop("NANOPOD_OFFLINE", None)
        ref = f"oci://{addr}/bench/big:1"
        subprocess.run([NANOPOD, "push", wasm, ref], env=env, check=True, stdout=subprocess.DEVNULL)
        manifest = json.loads(subprocess.run(
            ["curl", "-sS", "--fail", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
             f"http://{addr}/v2/bench/big/manifests/1"],
            capture_output=True, check=True).stdout)
        digest = manifest["layers"][0]["digest"]
        cache = os.path.join(work, "cache")
        env["NANOPOD_OCI_CACHE"] = cache
        pull = f"rm -rf {cache} && {NANOPOD} pull {ref} > /dev/null"
        blob = f"curl -sS --fail -o {work}/blob http://{addr}/v2/bench/big/blobs/{digest}"
        # Interleaved runs, so both see the same machine state.
        os.environ.update(env)
        pulls, curls = [], []
        for _ in range(args.runs):
            pulls.append(timed(pull, 1))
            curls.append(timed(blob, 1))
        pulls.sort()
        curls.sort()
        p, c = pulls[len(pulls) // 2], curls[len(curls) // 2]
        print(f"layer: {SIZE >> 20} MiB, {args.runs} runs each, medians")
        print(f"curl of the blob:              {c * 1000:7.1f} ms")
        print(f"nanopod pull (verify + cache): {p * 1000:7.1f} ms  = {p / c:.2f}x curl")
    finally:
        stop(registry)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
