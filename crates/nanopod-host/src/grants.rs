//! The capability policy: what a component may reach. Deny by default.
//!
//! A fresh [`Grants`] gives a component stdout, stderr, clocks and random
//! numbers, and nothing else: no directories, no environment variables, no
//! stdin, no sockets, no outbound HTTP. Each grant method states its default.

use crate::vfs::VirtualDir;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

/// A host directory made visible to the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// The path the guest sees it under.
    pub guest: String,
    /// Whether the guest may only read it.
    pub read_only: bool,
}

/// A kind of capability that is granted by name, not given to every
/// component (stdout, stderr, clocks and random are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Preopened directories.
    Directories,
    /// Environment variables.
    Environment,
    /// Outbound HTTP.
    OutgoingHttp,
}

impl Capability {
    /// Every capability that is granted by name.
    pub const ALL: [Capability; 3] = [
        Capability::Directories,
        Capability::Environment,
        Capability::OutgoingHttp,
    ];

    /// The WASI interfaces (unversioned) through which a component uses it.
    pub fn interfaces(self) -> &'static [&'static str] {
        match self {
            Capability::Directories => &["wasi:filesystem/preopens"],
            Capability::Environment => &["wasi:cli/environment"],
            Capability::OutgoingHttp => &[
                "wasi:http/outgoing-handler",
                "wasi:http/client",
                "wasi:http/handler",
            ],
        }
    }

    /// The capability an import (`ns:pkg/iface@version`) carries, if any.
    pub fn of_import(import: &str) -> Option<Capability> {
        let name = import.split_once('@').map_or(import, |(n, _)| n);
        Self::ALL
            .into_iter()
            .find(|c| c.interfaces().contains(&name))
    }
}

/// Resource limits of one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory (and table growth) in bytes. Default: unlimited
    /// up to what the guest's memory type allows (4 GiB for 32-bit memories).
    pub max_memory: Option<usize>,
    /// Wall-clock time the guest may run before it is interrupted. Default:
    /// none.
    pub timeout: Option<Duration>,
}

/// The capabilities granted to one component instance.
#[derive(Clone, Debug, Default)]
pub struct Grants {
    dirs: Vec<DirGrant>,
    env: Vec<(String, String)>,
    http_hosts: Vec<String>,
    stdin: bool,
    args: Vec<String>,
    virtual_dirs: Vec<Arc<VirtualDir>>,
    /// Resource limits.
    pub limits: Limits,
}

impl Grants {
    /// Nothing granted: the default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Preopens a host directory. Default: no directories. The guest can
    /// never reach outside it: `..`, absolute paths and symlinks that leave
    /// it fail (cap-std's openat2/`O_BENEATH` semantics under wasmtime-wasi).
    pub fn dir(&mut self, grant: DirGrant) -> Result<&mut Self> {
        let meta = std::fs::metadata(&grant.host)
            .with_context(|| format!("cannot open directory `{}`", grant.host.display()))?;
        if !meta.is_dir() {
            bail!("`{}` is not a directory", grant.host.display());
        }
        self.dirs.push(grant);
        Ok(self)
    }

    /// Preopens an in-memory directory (see [`crate::vfs`]), read-write;
    /// several grants may share one. Default: none.
    pub fn virtual_dir(&mut self, dir: Arc<VirtualDir>) -> &mut Self {
        self.virtual_dirs.push(dir);
        self
    }

    /// The in-memory directories, to write out after a run.
    pub fn virtual_dirs(&self) -> &[Arc<VirtualDir>] {
        &self.virtual_dirs
    }

    /// Sets an environment variable in the guest. Default: an empty
    /// environment.
    pub fn env(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Allows outbound HTTP requests to `authority` (`host` or `host:port`).
    /// Default: every outbound request is denied with `HTTP-request-denied`.
    pub fn allow_http(&mut self, authority: impl Into<String>) -> &mut Self {
        self.http_hosts.push(authority.into());
        self
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

    /// The granted directories.
    pub fn dirs(&self) -> &[DirGrant] {
        &self.dirs
    }

    /// The hosts outbound HTTP may reach.
    pub fn http_hosts(&self) -> &[String] {
        &self.http_hosts
    }

    /// The environment variables set in the guest.
    pub fn env_vars(&self) -> &[(String, String)] {
        &self.env
    }

    /// What these grants give of `capability`, in a comparable form: empty
    /// when nothing.
    pub fn measure(&self, capability: Capability) -> Vec<String> {
        match capability {
            Capability::Directories => self
                .dirs
                .iter()
                .map(|d| format!("{}::{}:{}", d.host.display(), d.guest, d.read_only))
                .chain(
                    self.virtual_dirs
                        .iter()
                        .map(|v| format!("vfs::{}", v.guest())),
                )
                .collect(),
            Capability::Environment => self.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            Capability::OutgoingHttp => self.http_hosts.clone(),
        }
    }

    /// Adds what `other` grants of `capability`.
    pub fn merge_capability(&mut self, other: &Grants, capability: Capability) -> &mut Self {
        match capability {
            Capability::Directories => {
                self.dirs.extend(other.dirs.iter().cloned());
                self.virtual_dirs.extend(other.virtual_dirs.iter().cloned());
            }
            Capability::Environment => self.env.extend(other.env.iter().cloned()),
            Capability::OutgoingHttp => self.http_hosts.extend(other.http_hosts.iter().cloned()),
        }
        self
    }

    /// Builds the WASI context. Sockets stay denied: wasmtime-wasi refuses
    /// every address unless a check allows it, and nanopod installs none.
    pub fn wasi_builder(&self) -> Result<WasiCtxBuilder> {
        let mut b = WasiCtxBuilder::new();
        // Filesystem calls run on the calling thread: handing each one to
        // tokio's blocking pool cost two thread switches per call (most of
        // an auth middleware's time per request in `serve`).
        b.inherit_stdout()
            .inherit_stderr()
            .allow_blocking_current_thread(true);
        if self.stdin {
            b.inherit_stdin();
        }
        b.args(&self.args);
        for (k, v) in &self.env {
            b.env(k, v);
        }
        let virtual_dirs = self
            .virtual_dirs
            .iter()
            .map(|v| (v.path(), v.guest(), false));
        let dirs = self
            .dirs
            .iter()
            .map(|d| (d.host.as_path(), d.guest.as_str(), d.read_only));
        for (host, guest, read_only) in dirs.chain(virtual_dirs) {
            let perms = if read_only {
                FsPerms::ReadOnly
            } else {
                FsPerms::ReadWrite
            };
            b.preopened_dir(host, guest, perms)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot open directory `{}`", host.display()))?;
        }
        Ok(b)
    }

    /// Builds the WASI context for components.
    pub fn wasi_ctx(&self) -> Result<WasiCtx> {
        Ok(self.wasi_builder()?.build())
    }

    /// Whether an outbound HTTP request to `authority` is allowed.
    pub fn http_allowed(&self, host: &str, port: Option<u16>) -> bool {
        self.http_hosts
            .iter()
            .any(|allowed| match allowed.rsplit_once(':') {
                Some((h, p)) => {
                    h.eq_ignore_ascii_case(host)
                        && Some(p) == port.map(|p| p.to_string()).as_deref()
                }
                None => allowed.eq_ignore_ascii_case(host),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_allow_list_matches_host_and_port() {
        let mut g = Grants::new();
        g.allow_http("example.com").allow_http("api.local:8080");
        assert!(g.http_allowed("example.com", None));
        assert!(g.http_allowed("EXAMPLE.com", Some(443)));
        assert!(g.http_allowed("api.local", Some(8080)));
        assert!(!g.http_allowed("api.local", Some(80)));
        assert!(!g.http_allowed("evil.com", None));
        assert!(!Grants::new().http_allowed("example.com", None));
    }

    #[test]
    fn capabilities_are_found_by_unversioned_interface() {
        assert_eq!(
            Capability::of_import("wasi:filesystem/preopens@0.2.6"),
            Some(Capability::Directories)
        );
        assert_eq!(
            Capability::of_import("wasi:cli/environment@0.3.0"),
            Some(Capability::Environment)
        );
        assert_eq!(
            Capability::of_import("wasi:http/outgoing-handler@0.2.0"),
            Some(Capability::OutgoingHttp)
        );
        assert_eq!(Capability::of_import("wasi:filesystem/types@0.2.6"), None);
        assert_eq!(Capability::of_import("example:geo/lookup"), None);
    }

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
        assert!(b.measure(Capability::OutgoingHttp).is_empty());
        assert!(b.measure(Capability::Directories).is_empty());
    }

    #[test]
    fn dir_grant_must_be_an_existing_directory() {
        let mut g = Grants::new();
        let missing = DirGrant {
            host: "/definitely/not/here".into(),
            guest: "/".into(),
            read_only: true,
        };
        assert!(g.dir(missing).is_err());
        let file = tempfile::NamedTempFile::new().unwrap();
        let not_dir = DirGrant {
            host: file.path().into(),
            guest: "/".into(),
            read_only: true,
        };
        assert!(g.dir(not_dir).is_err());
    }
}
