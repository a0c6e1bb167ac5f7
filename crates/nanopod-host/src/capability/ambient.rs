//! What every component gets without asking: stdout and stderr, clocks,
//! random numbers and the plumbing of WASI (`wasi:io`, `wasi:cli/exit`),
//! and the request heads HTTP filters look at. Also the table's entry for
//! imports nanopod does not provide at all.

use super::{CapabilitySpec, Denial};

/// Standard streams and terminals.
pub const STDIO: CapabilitySpec = CapabilitySpec {
    name: "stdio",
    grant: "stdout/stderr granted; stdin only for commands, or `-` for a typed input",
    interfaces: &["wasi:cli/std*", "wasi:cli/terminal*"],
    entry_points: &[],
    flags: &[],
    manifest_keys: &[],
    denial: Denial::Never,
};

/// Wall and monotonic clocks.
pub const CLOCKS: CapabilitySpec = CapabilitySpec {
    name: "clocks",
    grant: "granted",
    interfaces: &["wasi:clocks/*"],
    entry_points: &[],
    flags: &[],
    manifest_keys: &[],
    denial: Denial::Never,
};

/// Random numbers.
pub const RANDOM: CapabilitySpec = CapabilitySpec {
    name: "random",
    grant: "granted",
    interfaces: &["wasi:random/*"],
    entry_points: &[],
    flags: &[],
    manifest_keys: &[],
    denial: Denial::Never,
};

/// Every other WASI interface.
pub const PLUMBING: CapabilitySpec = CapabilitySpec {
    name: "other",
    grant: "granted (WASI plumbing)",
    interfaces: &["wasi:*"],
    entry_points: &[],
    flags: &[],
    manifest_keys: &[],
    denial: Denial::Never,
};

/// nanopod's own interface for synchronous HTTP filters: the heads of the
/// requests and responses a filter looks at, lent by the host.
pub const FILTER_HEADS: CapabilitySpec = CapabilitySpec {
    name: "filter",
    grant: "given to HTTP filters: the heads of the requests they look at",
    interfaces: &["nanopod:http/*"],
    entry_points: &[],
    flags: &[],
    manifest_keys: &[],
    denial: Denial::Never,
};

/// Imports that are not WASI: a pod links them, nanopod does not.
pub const UNPROVIDED: CapabilitySpec = CapabilitySpec {
    name: "other",
    grant: "not provided by nanopod: the component fails to load",
    interfaces: &[],
    entry_points: &[],
    flags: &[],
    manifest_keys: &[],
    denial: Denial::Never,
};
