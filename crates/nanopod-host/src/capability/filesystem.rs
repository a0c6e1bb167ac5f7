//! Filesystem: preopened host directories (`--dir`, `--ro-dir`) and private
//! in-memory copies (`--vfs`, see [`crate::vfs`]). Default: none.
//!
//! A grant never reaches past its directory: `..`, absolute host paths and
//! symlinks that leave it fail (cap-std's openat2/`O_BENEATH` semantics
//! under wasmtime-wasi). Denied in a composition by answering "no
//! preopened directories".

use super::{CapabilitySpec, Denial};
use crate::vfs::VirtualDir;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// The filesystem's entry in the capability table.
pub const SPEC: CapabilitySpec = CapabilitySpec {
    name: "filesystem",
    grant: "--dir HOST[::GUEST] or --ro-dir HOST[::GUEST]",
    interfaces: &["wasi:filesystem/*"],
    entry_points: &["wasi:filesystem/preopens"],
    flags: &["--dir", "--ro-dir", "--vfs"],
    manifest_keys: &["dirs", "ro-dirs"],
    denial: Denial::EmptyAnswers,
};

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

/// Why a directory cannot be granted.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// It cannot be opened.
    #[error("cannot open directory `{}`", path.display())]
    Open {
        /// The host path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is a file, not a directory.
    #[error("`{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// Its guest path is empty.
    #[error("the guest path is empty: write HOST::/PATH")]
    EmptyGuestPath,
    /// A guest path written after `::` that is not absolute (the guest
    /// would find it relative to a working directory it does not have).
    #[error("the guest path `{0}` is not absolute: write HOST::/{0}")]
    RelativeGuestPath(String),
    /// Another directory of the same component is at that guest path (the
    /// guest would see only one of them).
    #[error("guest path `{0}` is granted twice: give each directory its own")]
    GuestPathTwice(String),
}

/// The directories one component may reach.
#[derive(Clone, Debug, Default)]
pub(crate) struct FilesystemGrant {
    dirs: Vec<DirGrant>,
    virtual_dirs: Vec<Arc<VirtualDir>>,
}

impl FilesystemGrant {
    pub(crate) fn add_dir(&mut self, grant: DirGrant) -> Result<(), DirError> {
        self.check_guest_path(&grant.guest)?;
        let meta = std::fs::metadata(&grant.host).map_err(|source| DirError::Open {
            path: grant.host.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(DirError::NotADirectory(grant.host));
        }
        self.dirs.push(grant);
        Ok(())
    }

    pub(crate) fn add_virtual_dir(&mut self, dir: Arc<VirtualDir>) -> Result<(), DirError> {
        self.check_guest_path(dir.guest())?;
        self.virtual_dirs.push(dir);
        Ok(())
    }

    /// Refuses an empty guest path, and one already granted (`/g` and
    /// `/g/` are one path).
    fn check_guest_path(&self, guest: &str) -> Result<(), DirError> {
        let normal = |p: &str| p.trim_end_matches('/').to_string();
        if guest.is_empty() {
            return Err(DirError::EmptyGuestPath);
        }
        let taken = self
            .dirs
            .iter()
            .map(|d| d.guest.as_str())
            .chain(self.virtual_dirs.iter().map(|v| v.guest()))
            .any(|g| normal(g) == normal(guest));
        if taken {
            return Err(DirError::GuestPathTwice(guest.to_string()));
        }
        Ok(())
    }

    pub(crate) fn has_dirs(&self) -> bool {
        !self.dirs.is_empty()
    }

    pub(crate) fn virtual_dirs(&self) -> &[Arc<VirtualDir>] {
        &self.virtual_dirs
    }

    /// What is granted, in a comparable form: empty when nothing.
    pub(crate) fn measure(&self) -> Vec<String> {
        self.dirs
            .iter()
            .map(|d| format!("{}::{}:{}", d.host.display(), d.guest, d.read_only))
            .chain(
                self.virtual_dirs
                    .iter()
                    .map(|v| format!("vfs::{}", v.guest())),
            )
            .collect()
    }

    /// Adds `other`'s directories; one granted to both is preopened once.
    pub(crate) fn merge(&mut self, other: &FilesystemGrant) {
        for dir in &other.dirs {
            if !self.dirs.contains(dir) {
                self.dirs.push(dir.clone());
            }
        }
        for dir in &other.virtual_dirs {
            if !self.virtual_dirs.iter().any(|v| Arc::ptr_eq(v, dir)) {
                self.virtual_dirs.push(dir.clone());
            }
        }
    }

    /// Preopens every granted directory in `b`.
    pub(crate) fn apply(&self, b: &mut WasiCtxBuilder) -> Result<(), DirError> {
        let virtual_dirs = self
            .virtual_dirs
            .iter()
            .map(|v| (v.path(), v.guest(), false));
        let dirs = self
            .dirs
            .iter()
            .map(|d| (d.host.as_path(), d.guest.as_str(), d.read_only));
        for (host, guest, read_only) in dirs.chain(virtual_dirs) {
            preopen(b, host, guest, read_only)?;
        }
        Ok(())
    }
}

fn preopen(
    b: &mut WasiCtxBuilder,
    host: &Path,
    guest: &str,
    read_only: bool,
) -> Result<(), DirError> {
    let perms = if read_only {
        FsPerms::ReadOnly
    } else {
        FsPerms::ReadWrite
    };
    b.preopened_dir(host, guest, perms)
        .map_err(|e| DirError::Open {
            path: host.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    Ok(())
}
