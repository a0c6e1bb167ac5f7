#!/usr/bin/env bash
# Builds nanopod and the example components, then shrinks the bundled photo
# with the `thumbnail` component: a typed function over streams, no files or
# argv inside the guest; then runs the geo pod (an app and its sidecar) and
# the report pipeline (a legacy command feeding a typed component); last,
# embeds a directory in a legacy command with `nanopod virtualize`.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 wasm32-wasip1 wasm32-unknown-unknown
cargo build --release --bin nanopod
thumbnail=$(cargo run --quiet --release -p test-programs-artifacts --bin guest-path -- thumbnail)
set -x
./target/release/nanopod run "$thumbnail" --help
./target/release/nanopod run "$thumbnail" examples/photo.png --width 128 -o thumb.png
{ set +x; } 2>/dev/null
echo "wrote thumb.png ($(wc -c < thumb.png) bytes)"
# A pod: the app asks its sidecar where cities are, through a typed call.
bash examples/build.sh
set -x
./target/release/nanopod up examples/geo/pod.toml Paris Berlin
# A pipeline: a legacy command writes a report into the pod's memory, and a
# typed stream component upper-cases it.
./target/release/nanopod up examples/report/pipeline.toml
# Virtualize: the files of examples/virtualize/assets go inside the
# component, which then runs with no --dir and imports no filesystem.
./target/release/nanopod virtualize --dir examples/virtualize/assets::/assets examples/virtualize/files.wasm -o examples/virtualize/files.virt.wasm
./target/release/nanopod run examples/virtualize/files.virt.wasm ls /assets , cat /assets/motd.txt
