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

/// A small grant table for embedders, tests and benchmarks that need a
/// few grants without a front end's flags: `env = [["NAME", "VALUE"]]`,
/// `ro-dir = ["HOST", "GUEST"]` (relative to the manifest) and
/// `allow-http = ["HOST[:PORT]"]`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BasicGrants {
    #[serde(default)]
    env: Vec<(String, String)>,
    #[serde(default)]
    ro_dir: Option<(String, String)>,
    #[serde(default)]
    allow_http: Vec<String>,
}

impl GrantSpec for BasicGrants {
    type Error = nanopod_host::DirError;

    fn grants(&self, base: &Path) -> Result<Grants, Self::Error> {
        let mut g = Grants::new();
        for (k, v) in &self.env {
            g.env(k, v);
        }
        if let Some((host, guest)) = &self.ro_dir {
            g.dir(nanopod_host::DirGrant {
                host: base.join(host),
                guest: guest.clone(),
                read_only: true,
            })?;
        }
        for authority in &self.allow_http {
            g.allow_http(authority);
        }
        Ok(g)
    }

    fn describe(&self) -> Vec<String> {
        Vec::new()
    }
}
