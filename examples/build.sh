#!/usr/bin/env bash
# Builds the example components and puts each pod's binaries next to its
# manifest (examples/thumbnail, examples/geo, examples/http, examples/http3, examples/mesh, examples/report,
# examples/text), where the pod.toml files expect them,
# and the `files` command in examples/virtualize.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 wasm32-wasip1 wasm32-unknown-unknown >/dev/null 2>&1
profile=${PROFILE:-release}
flag=$([ "$profile" = release ] && echo --release || true)
guest() { cargo run --quiet $flag -p test-programs-artifacts --bin guest-path -- "$1"; }
cp "$(guest thumbnail)" examples/thumbnail/thumbnail.wasm
cp "$(guest geo)" examples/geo/geo.wasm
cp "$(guest geo-app)" examples/geo/geo-app.wasm
cp "$(guest report)" examples/report/report.wasm
cp "$(guest upper)" examples/report/upper.wasm
cp "$(guest files)" examples/virtualize/files.wasm
cp "$(guest text-client)" examples/text/text-client.wasm
cp "$(guest text-filter)" examples/text/text-filter.wasm
for name in p3-http-app p3-http-auth p3-http-log; do
  cp "$(guest "$name")" "examples/http3/$name.wasm"
done
for name in http-app http-auth http-log; do
  cp "$(guest "$name")" "examples/http/$name.wasm"
done
for name in pw-ratelimit pw-auth pw-log http-app; do
  cp "$(guest "$name")" "examples/mesh/$name.wasm"
done
echo "examples built: examples/thumbnail/thumbnail.wasm examples/geo/*.wasm examples/http/*.wasm examples/report/*.wasm examples/http3/*.wasm examples/mesh/*.wasm examples/virtualize/files.wasm examples/text/*.wasm"
