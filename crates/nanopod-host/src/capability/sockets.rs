//! Sockets and name lookup: always denied in this version. wasmtime-wasi
//! refuses every address unless a check allows it, and nanopod installs
//! none, so a guest's socket calls fail with `access-denied`.

use super::{CapabilitySpec, Denial};

/// The network's entry in the capability table.
pub const SPEC: CapabilitySpec = CapabilitySpec {
    name: "network",
    grant: "denied: nanopod grants no sockets in this version",
    interfaces: &["wasi:sockets/*"],
    entry_points: &[],
    flags: &[],
    manifest_keys: &[],
    denial: Denial::Never,
};
