//! What one component may reach: a grant per capability of the
//! [`crate::capability`] table, and its limits. Deny by default.
//!
//! A fresh [`Grants`] gives a component stdout, stderr, clocks and random
//! numbers, and nothing else: no directories, no environment variables, no
//! stdin, no sockets, no outbound HTTP. Each grant method states its default.

use crate::capability::Capability;
use crate::capability::config::ConfigGrant;
use crate::capability::environment::EnvironmentGrant;
use crate::capability::filesystem::{DirError, DirGrant, FilesystemGrant};
use crate::capability::http::HttpGrant;
use crate::capability::keyvalue::KeyvalueGrant;
use crate::capability::sockets::{SocketGrant, SocketSpecError, SocketUse};
use crate::limits::Limits;
use crate::vfs::VirtualDir;
use nanopod_keyvalue::StoreUrl;
use std::sync::Arc;
use wasmtime_wasi::WasiCtxBuilder;

/// The capabilities granted to one component instance.
#[derive(Clone, Debug, Default)]
pub struct Grants {
    pub(crate) filesystem: FilesystemGrant,
    pub(crate) environment: EnvironmentGrant,
    pub(crate) http: HttpGrant,
    pub(crate) sockets: SocketGrant,
    pub(crate) config: Arc<ConfigGrant>,
    pub(crate) keyvalue: Arc<KeyvalueGrant>,
    stdin: bool,
    args: Vec<String>,
    /// Resource limits.
    pub limits: Limits,
}

impl Grants {
    /// Nothing granted: the default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Preopens a host directory, which must exist, at a guest path no
    /// other directory has. Default: no directories.
    pub fn dir(&mut self, grant: DirGrant) -> Result<&mut Self, DirError> {
        self.filesystem.add_dir(grant)?;
        Ok(self)
    }

    /// Preopens an in-memory directory (see [`crate::vfs`]), read-write;
    /// several grants may share one. Default: none. Its guest path must
    /// be free.
    pub fn virtual_dir(&mut self, dir: Arc<VirtualDir>) -> Result<&mut Self, DirError> {
        self.filesystem.add_virtual_dir(dir)?;
        Ok(self)
    }

    /// The in-memory directories, to write out after a run.
    pub fn virtual_dirs(&self) -> &[Arc<VirtualDir>] {
        self.filesystem.virtual_dirs()
    }

    /// Sets an environment variable in the guest. Default: an empty
    /// environment.
    pub fn env(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.environment.set(name.into(), value.into());
        self
    }

    /// Allows outbound HTTP requests to `authority` (`host` or `host:port`).
    /// Default: every outbound request is denied with `HTTP-request-denied`.
    pub fn allow_http(&mut self, authority: impl Into<String>) -> &mut Self {
        self.http.allow(authority.into());
        self
    }

    /// Allows a kind of socket use of the endpoint `spec` (`HOST:PORT`,
    /// see [`crate::capability::sockets`]). Default: every socket call
    /// fails with `access-denied`.
    pub fn allow_socket(
        &mut self,
        use_: SocketUse,
        spec: &str,
    ) -> Result<&mut Self, SocketSpecError> {
        self.sockets.allow(use_, spec)?;
        Ok(self)
    }

    /// Allows name lookup (`wasi:sockets/ip-name-lookup`). Default: denied.
    pub fn allow_dns(&mut self) -> &mut Self {
        self.sockets.allow_dns();
        self
    }

    /// Sets a configuration value (`wasi:config/store`); a key set again
    /// takes the new value. Default: no values.
    pub fn config_value(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        Arc::make_mut(&mut self.config).set(key.into(), value.into());
        self
    }

    /// Lets the guest open the store at `url` as `name`
    /// (`wasi:keyvalue/store.open`); a name granted again takes the new
    /// store. Default: no stores (`open` answers `access-denied`).
    pub fn keyvalue_store(&mut self, name: impl Into<String>, url: StoreUrl) -> &mut Self {
        Arc::make_mut(&mut self.keyvalue).set(name.into(), url);
        self
    }

    /// The names of the granted key-value stores.
    pub fn keyvalue_names(&self) -> Vec<String> {
        self.keyvalue.names().map(str::to_string).collect()
    }

    /// Where the granted store `name` is, if it is granted.
    pub fn keyvalue_url(&self, name: &str) -> Option<&StoreUrl> {
        self.keyvalue.url(name)
    }

    /// Opens every granted key-value store, so that one that cannot be
    /// opened fails the command (naming the store) before a guest runs.
    pub async fn open_keyvalue_stores(&self) -> Result<(), String> {
        self.keyvalue.open_all().await
    }

    /// Whether a host directory is granted.
    pub fn has_dirs(&self) -> bool {
        self.filesystem.has_dirs()
    }

    /// The environment variables set in the guest.
    pub fn env_vars(&self) -> &[(String, String)] {
        self.environment.vars()
    }

    /// Whether an outbound HTTP request to `host` (and `port`, when the
    /// request names one) is allowed.
    pub fn allows_http(&self, host: &str, port: Option<u16>) -> bool {
        self.http.allows(host, port)
    }

    /// Connects the guest's stdin to nanopod's. Default: stdin is empty.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin = true;
        self
    }

    /// Sets the guest's argv (legacy commands). Default: no arguments.
    pub fn args(&mut self, args: Vec<String>) -> &mut Self {
        self.args = args;
        self
    }

    /// What these grants give of `capability`, in a comparable form: empty
    /// when nothing (always, for capabilities not granted by name).
    pub fn measure(&self, capability: Capability) -> Vec<String> {
        match capability {
            Capability::Filesystem => self.filesystem.measure(),
            Capability::Environment => self.environment.measure(),
            Capability::Http => self.http.measure(),
            Capability::Network => self.sockets.measure(),
            Capability::Config => self.config.measure(),
            Capability::Keyvalue => self.keyvalue.measure(),
            _ => Vec::new(),
        }
    }

    /// Adds what `other` grants of `capability`.
    pub fn merge_capability(&mut self, other: &Grants, capability: Capability) -> &mut Self {
        match capability {
            Capability::Filesystem => self.filesystem.merge(&other.filesystem),
            Capability::Environment => self.environment.merge(&other.environment),
            Capability::Http => self.http.merge(&other.http),
            Capability::Network => self.sockets.merge(&other.sockets),
            Capability::Config => Arc::make_mut(&mut self.config).merge(&other.config),
            Capability::Keyvalue => Arc::make_mut(&mut self.keyvalue).merge(&other.keyvalue),
            _ => {}
        }
        self
    }

    /// The WASI context builder these grants describe (components and
    /// preview1 modules alike).
    pub(crate) fn wasi_builder(&self) -> Result<WasiCtxBuilder, DirError> {
        let mut b = WasiCtxBuilder::new();
        // Filesystem calls run on the calling thread: handing each one to
        // tokio's blocking pool cost two thread switches per call (most of
        // an auth middleware's time per request in `serve`). Set before
        // the preopens, which take it over.
        b.inherit_stdout()
            .inherit_stderr()
            .allow_blocking_current_thread(true);
        if self.stdin {
            b.inherit_stdin();
        }
        b.args(&self.args);
        self.environment.apply(&mut b);
        self.sockets.apply(&mut b);
        self.filesystem.apply(&mut b)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_compare_what_is_granted() {
        let mut a = Grants::new();
        a.env("K", "1").allow_http("x.test");
        let mut b = Grants::new();
        b.merge_capability(&a, Capability::Environment);
        assert_eq!(
            b.measure(Capability::Environment),
            a.measure(Capability::Environment)
        );
        assert!(b.measure(Capability::Http).is_empty());
        assert!(b.measure(Capability::Filesystem).is_empty());
    }

    #[test]
    fn dir_grant_must_be_an_existing_directory() {
        let mut g = Grants::new();
        let missing = DirGrant {
            host: "/definitely/not/here".into(),
            guest: "/".into(),
            read_only: true,
        };
        assert!(matches!(g.dir(missing), Err(DirError::Open { .. })));
        let file = tempfile::NamedTempFile::new().unwrap();
        let not_dir = DirGrant {
            host: file.path().into(),
            guest: "/".into(),
            read_only: true,
        };
        assert!(matches!(g.dir(not_dir), Err(DirError::NotADirectory(_))));
    }
}
