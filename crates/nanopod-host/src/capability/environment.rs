//! Environment variables (`--env NAME[=VALUE]`). Default: an empty
//! environment. Denied in a composition by answering with an empty
//! environment (and no arguments, no working directory).

use super::{CapabilitySpec, Denial};
use wasmtime_wasi::WasiCtxBuilder;

/// The environment's entry in the capability table.
pub const SPEC: CapabilitySpec = CapabilitySpec {
    name: "environment",
    grant: "--env NAME[=VALUE] (arguments come from the command line)",
    interfaces: &["wasi:cli/environment"],
    entry_points: &["wasi:cli/environment"],
    flags: &["--env"],
    manifest_keys: &["env"],
    denial: Denial::EmptyAnswers,
};

/// The variables one component sees.
#[derive(Clone, Debug, Default)]
pub(crate) struct EnvironmentGrant {
    vars: Vec<(String, String)>,
}

impl EnvironmentGrant {
    pub(crate) fn set(&mut self, name: String, value: String) {
        self.vars.push((name, value));
    }

    pub(crate) fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// What is granted, in a comparable form: empty when nothing.
    pub(crate) fn measure(&self) -> Vec<String> {
        self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// Adds `other`'s variables, each once.
    pub(crate) fn merge(&mut self, other: &EnvironmentGrant) {
        for var in &other.vars {
            if !self.vars.contains(var) {
                self.vars.push(var.clone());
            }
        }
    }

    pub(crate) fn apply(&self, b: &mut WasiCtxBuilder) {
        for (k, v) in &self.vars {
            b.env(k, v);
        }
    }
}
