#!/usr/bin/env bash
# Runs every test. Installs what the tests need first: the wasm targets the
# guest components are built for, and componentize-py (PyPI) for the test
# that builds a Python component from source.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 wasm32-wasip1
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'componentize-py==0.25.1'
cargo test --workspace
