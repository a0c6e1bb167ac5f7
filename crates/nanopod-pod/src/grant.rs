//! How a component's `grants` table in `pod.toml` is spelled is the front
//! end's business (the CLI uses the struct that defines its flags, so a
//! flag and its key have one definition); the pod pipeline only needs the
//! [`Grants`] it stands for.

use nanopod_host::Grants;
use serde::de::DeserializeOwned;
use std::path::Path;

/// A component's grant table, as a front end spells it.
pub trait GrantSpec: DeserializeOwned + Default {
    /// Why a table does not describe valid grants.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The grants this table describes; relative host paths are taken
    /// relative to `base`, the manifest's directory.
    fn grants(&self, base: &Path) -> Result<Grants, Self::Error>;

    /// The table as the manifest spells it, one grant per item
    /// (`ro-dirs data::/data`), for reports.
    fn describe(&self) -> Vec<String>;
}

/// A grant table that grants nothing and takes no keys: for pods whose
/// components need no capability (benchmarks, tests).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoGrants {}

impl GrantSpec for NoGrants {
    type Error = std::convert::Infallible;

    fn grants(&self, _base: &Path) -> Result<Grants, Self::Error> {
        Ok(Grants::new())
    }

    fn describe(&self) -> Vec<String> {
        Vec::new()
    }
}
