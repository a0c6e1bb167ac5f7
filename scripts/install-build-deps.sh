#!/usr/bin/env bash
# Installs the system packages that building the workspace needs (Debian):
# protoc and libseccomp for the containerd shim (runwasi's
# containerd-shim-wasm generates containerd's gRPC bindings with protoc and
# links libseccomp through youki's libcontainer), and containerd itself
# (containerd, ctr, runc) for the shim's tests. Does nothing when they are
# there already.
set -euo pipefail
missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
pkg-config --exists libseccomp 2>/dev/null || missing+=(libseccomp-dev pkg-config)
command -v containerd >/dev/null && command -v ctr >/dev/null || missing+=(containerd)
if ((${#missing[@]})); then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
