//! `pod.lock`: the manifest digests a pod's `oci://` components resolved
//! to, written by `nanopod up --lock` beside the manifest. While a
//! component's `file` is still the reference the lock names, later runs
//! use the locked digest, not whatever the tag points at now; change the
//! `file` (or delete the lock) to move on.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The lock of a pod: per component, the reference in the manifest and
/// the digest it ran.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodLock {
    /// By component name.
    #[serde(default)]
    pub components: BTreeMap<String, Locked>,
}

/// One component's pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// The component's `file` in the manifest when it was locked.
    pub file: String,
    /// The pinned reference: `oci://REGISTRY/REPOSITORY@sha256:HEX`.
    pub pinned: String,
}

/// Where the lock of the manifest at `manifest` lives: `pod.toml` →
/// `pod.lock`.
pub fn lock_path(manifest: &Path) -> PathBuf {
    manifest.with_extension("lock")
}

impl PodLock {
    /// The lock beside `manifest`, or none; an unreadable or malformed
    /// lock is an error (it would silently unpin the pod).
    pub fn beside(manifest: &Path) -> Result<Option<PodLock>, String> {
        let path = lock_path(manifest);
        if !path.exists() {
            return Ok(None);
        }
        let text = nanopod_host::files::read_regular_text(&path, nanopod_host::files::MAX_TEXT)
            .map_err(|e| format!("`{}`: {e}", path.display()))?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| format!("`{}`: {}", path.display(), e.message()))
    }

    /// The pinned reference for component `name` whose manifest `file`
    /// is `file`, if the lock still applies to it.
    pub fn pinned(&self, name: &str, file: &str) -> Option<&str> {
        self.components
            .get(name)
            .filter(|l| l.file == file)
            .map(|l| l.pinned.as_str())
    }

    /// Writes the lock beside `manifest` (whole or not at all).
    pub fn write(&self, manifest: &Path) -> anyhow::Result<PathBuf> {
        let path = lock_path(manifest);
        let text = format!(
            "# Written by `nanopod up --lock`: the digests this pod's registry components ran.\n{}",
            toml::to_string(self)?
        );
        nanopod_host::io::write_atomically(&path, text.as_bytes())?;
        Ok(path)
    }
}
