//! Configuration values through `wasi:config/store` (0.2.0-draft):
//! `--var KEY=VALUE`, `--var-file FILE.toml`, and pod.toml's `variables`
//! (a value, or `{ file = "..." }` for a secret kept out of the
//! manifest). Default: no values (every `get` answers none). Denied in a
//! composition by a trapping adapter.

use super::{CapabilitySpec, Denial};
use crate::store::HostState;
use std::collections::BTreeMap;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/config",
        world: "imports",
    });
}

use bindings::wasi::config::store;

/// Configuration's entry in the capability table.
pub const SPEC: CapabilitySpec = CapabilitySpec {
    name: "config",
    grant: "--var KEY=VALUE or --var-file FILE.toml",
    interfaces: &["wasi:config/*"],
    entry_points: &["wasi:config/store"],
    flags: &["--var", "--var-file"],
    manifest_keys: &["variables"],
    denial: Denial::Trap,
};

/// The largest `--var-file` or secret file nanopod reads (a larger one is
/// refused).
pub const MAX_VALUE: usize = 1 << 20;

/// The configuration values one component sees; a key set twice keeps its
/// last value.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConfigGrant {
    values: BTreeMap<String, String>,
}

impl ConfigGrant {
    pub(crate) fn set(&mut self, key: String, value: String) {
        self.values.insert(key, value);
    }

    /// What is granted, in a comparable form: empty when nothing. Values
    /// are not shown (they may be secrets).
    pub(crate) fn measure(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|(k, v)| format!("{k} ({})", blake3::hash(v.as_bytes()).to_hex()))
            .collect()
    }

    pub(crate) fn merge(&mut self, other: &ConfigGrant) {
        self.values
            .extend(other.values.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

impl store::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<String>, store::Error> {
        Ok(self.config().values.get(&key).cloned())
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, store::Error> {
        Ok(self
            .config()
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// Links `wasi:config/store` to the store's values.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    store::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

/// Reads a values file (`--var-file`, a secret's `file`) as UTF-8, refusing
/// one larger than [`MAX_VALUE`].
pub fn read_bounded(path: &std::path::Path) -> std::io::Result<String> {
    crate::files::read_regular_text(path, MAX_VALUE as u64)
}
