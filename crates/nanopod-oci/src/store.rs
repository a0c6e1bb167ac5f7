//! The local, content-addressed copy of what was pulled: each layer once,
//! under its sha256 digest (`blobs/sha256/HEX`, written to a temporary
//! file and renamed only once its digest checked out), and an index from
//! each reference pulled (a tag, or a pinned digest) to the manifest and
//! layer it resolved to. A `run` by tag finds the index entry and never
//! touches the network; `nanopod pull` refreshes it.

use crate::OciError;
use crate::reference::OciRef;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The cache directory and its layout.
#[derive(Debug, Clone)]
pub struct BlobCache {
    root: PathBuf,
}

/// What a reference resolved to when it was last pulled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IndexEntry {
    /// The reference as pulled (`oci://…`).
    pub reference: String,
    /// The manifest's digest (`sha256:…`).
    pub manifest: String,
    /// The Wasm layer's digest (`sha256:…`).
    pub layer: String,
    /// The layer's size in bytes.
    pub size: u64,
}

impl BlobCache {
    /// The cache named by the environment: `NANOPOD_OCI_CACHE`, else the
    /// `oci` folder of the compile cache's directory
    /// (`NANOPOD_CACHE_DIR`, `XDG_CACHE_HOME/nanopod`,
    /// `~/.cache/nanopod`).
    pub fn from_env() -> Result<BlobCache, OciError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let root = var("NANOPOD_OCI_CACHE")
            .map(PathBuf::from)
            .or_else(|| var("NANOPOD_CACHE_DIR").map(|d| PathBuf::from(d).join("oci")))
            .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("nanopod/oci")))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache/nanopod/oci")))
            .ok_or_else(|| {
                OciError::other(
                    "no directory for pulled components",
                    anyhow::anyhow!("set NANOPOD_OCI_CACHE (or HOME)"),
                )
            })?;
        Ok(BlobCache { root })
    }

    /// Where the blob with `digest` (`sha256:HEX`) is kept.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("blobs/sha256").join(hex)
    }

    /// Whether the blob is here, whole.
    pub fn has_blob(&self, digest: &str, size: u64) -> bool {
        std::fs::symlink_metadata(self.blob_path(digest))
            .is_ok_and(|m| m.is_file() && m.len() == size)
    }

    /// What `reference` resolved to the last time, if its blob is still
    /// here.
    pub fn lookup(&self, reference: &OciRef) -> Option<IndexEntry> {
        let text = std::fs::read(self.index_path(reference)).ok()?;
        let entry: IndexEntry = serde_json::from_slice(&text).ok()?;
        (entry.reference == reference.to_string() && self.has_blob(&entry.layer, entry.size))
            .then_some(entry)
    }

    /// Remembers what `reference` resolved to.
    pub fn record(&self, reference: &OciRef, entry: &IndexEntry) -> Result<(), OciError> {
        let path = self.index_path(reference);
        let write = || -> anyhow::Result<()> {
            std::fs::create_dir_all(path.parent().expect("index files are in a folder"))?;
            nanopod_host::io::write_atomically(&path, &serde_json::to_vec_pretty(entry)?)?;
            Ok(())
        };
        write()
            .map_err(|e| OciError::other(format!("recording {reference} in {}", path.display()), e))
    }

    /// A temporary file for a blob on its way in, in the blobs folder so
    /// that it is renamed into place on the same filesystem.
    pub(crate) fn incoming(&self) -> Result<tempfile::NamedTempFile, OciError> {
        let dir = self.root.join("blobs/sha256");
        std::fs::create_dir_all(&dir)
            .and_then(|()| {
                tempfile::Builder::new()
                    .prefix(".incoming-")
                    .tempfile_in(&dir)
            })
            .map_err(|e| OciError::other(format!("creating a file in {}", dir.display()), e))
    }

    /// Moves a verified blob into place.
    pub(crate) fn commit(
        &self,
        file: tempfile::NamedTempFile,
        digest: &str,
    ) -> Result<PathBuf, OciError> {
        let path = self.blob_path(digest);
        file.persist(&path)
            .map_err(|e| OciError::other(format!("storing {}", path.display()), e.error))?;
        Ok(path)
    }

    fn index_path(&self, reference: &OciRef) -> PathBuf {
        let key = hex::encode(Sha256::digest(reference.index_key().as_bytes()));
        self.root.join("index").join(format!("{key}.json"))
    }
}
