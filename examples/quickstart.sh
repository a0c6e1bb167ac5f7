#!/usr/bin/env bash
# Installs nanopod (`cargo install --path .`, into ~/.cargo/bin, which
# rustup puts on the PATH), builds the example components next to their
# manifests, then shrinks the bundled photo with the `thumbnail` component:
# a typed function over streams, no files or argv inside the guest; then
# runs the geo pod (an app and its sidecar) and the report pipeline (a
# legacy command feeding a typed component); last, embeds a directory in a
# legacy command with `nanopod virtualize`.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n==> %s\n' "$*"; }
say "adding the wasm targets the examples are built for"
rustup target add wasm32-wasip2 wasm32-wasip1 wasm32-unknown-unknown
say "building and installing nanopod (release; the first build takes about 20 minutes on 2 cores)"
cargo install --path . --locked --target-dir target --force --quiet
command -v nanopod >/dev/null || { echo "nanopod was installed into ~/.cargo/bin: add it to your PATH"; export PATH="$HOME/.cargo/bin:$PATH"; }
say "building the example components (a few minutes the first time)"
bash examples/build.sh
say "a typed function: thumbnail(image: stream<u8>, width: u32), its --help generated from its WIT"
set -x
nanopod run examples/thumbnail/thumbnail.wasm --help
nanopod run examples/thumbnail/thumbnail.wasm examples/photo.png --width 128 -o thumb.png
{ set +x; } 2>/dev/null
echo "wrote thumb.png ($(wc -c < thumb.png) bytes)"
say "a pod: the app asks its sidecar where cities are, through a typed call"
set -x
nanopod up examples/geo/pod.toml Paris Berlin
{ set +x; } 2>/dev/null
say "a pipeline: a legacy command writes a report into the pod's memory, a typed stream component upper-cases it"
set -x
nanopod up examples/report/pipeline.toml
{ set +x; } 2>/dev/null
say "virtualize: the files of examples/virtualize/assets go inside the component, which then runs with no --dir"
set -x
nanopod virtualize --dir examples/virtualize/assets::/assets examples/virtualize/files.wasm -o examples/virtualize/files.virt.wasm
nanopod run examples/virtualize/files.virt.wasm ls /assets , cat /assets/motd.txt
