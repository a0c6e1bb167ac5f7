#!/usr/bin/env bash
# Runs every test. Installs what the tests need first: the wasm targets the
# guest components are built for, componentize-py (PyPI) for the test
# that builds a Python component from source, and nats-server (Debian) for
# the remote-link tests over NATS, docker-registry, htpasswd and openssl
# (Debian) for the registry tests, and nodejs/npm (Debian) for the tests
# that build filters with npm packages (the AssemblyScript proxy-wasm
# SDK's example, a componentize-js component filter); and, through
# scripts/install-build-deps.sh, protoc, libseccomp and containerd for the
# containerd shim and its tests.
# Ends with one summary line,
# "N passed, N failed", over all the test binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 wasm32-wasip1 wasm32-unknown-unknown
bash scripts/install-build-deps.sh
if ! command -v nats-server >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nats-server
fi
# docker-registry (a real OCI registry), htpasswd and openssl for the
# registry tests (plain HTTP, and TLS with basic auth).
if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
  apt-get update -qq && apt-get install -y -qq docker-registry apache2-utils openssl
fi
if ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'componentize-py==0.25.1'
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace 2>&1 | tee "$log" || status=$?
summary=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' |
  awk '{p += $1; f += $2} END {print p+0 " passed, " f+0 " failed"}')
echo
echo "$summary"
exit "$status"
