//! `--vfs`: a private in-memory copy of a directory or `.tar` archive,
//! preopened for the guest in place of the host directory.
//!
//! The copy lives on a memory-backed filesystem (tmpfs: `/dev/shm`, or
//! `NANOPOD_VFS_ROOT`) in a private (0700) directory removed after the run,
//! so the guest can read, create, rename and delete files with exactly the
//! semantics of a real preopen (it *is* one, through wasmtime-wasi and
//! cap-std) while nothing reaches the host disk. `--vfs-out` writes the final
//! state out after a successful run.
//!
//! Deliberately left out: symlinks in the source are not copied (a guest
//! could not follow them out of the preopen anyway), and the copy's size is
//! bounded only by the tmpfs.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// An in-memory copy of a directory tree.
#[derive(Debug)]
pub struct VirtualDir {
    root: tempfile::TempDir,
    guest: String,
}

impl VirtualDir {
    /// Copies `source` (a directory, or a `.tar` file) into memory, to be
    /// seen by the guest as `guest`.
    pub fn load(source: &Path, guest: &str) -> Result<Self> {
        let dir = Self::empty(guest)?;
        let meta = std::fs::metadata(source)
            .with_context(|| format!("cannot open `{}`", source.display()))?;
        if meta.is_dir() {
            copy_tree(source, dir.path())?;
        } else if source.extension().is_some_and(|e| e == "tar") {
            let file = std::fs::File::open(source)?;
            tar::Archive::new(file)
                .unpack(dir.path())
                .with_context(|| format!("cannot unpack `{}`", source.display()))?;
        } else {
            bail!(
                "`{}` is neither a directory nor a .tar archive",
                source.display()
            );
        }
        Ok(dir)
    }

    /// An empty in-memory directory, seen by the guest as `guest`: the
    /// scratch space a pod's pipeline steps share.
    pub fn empty(guest: &str) -> Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("nanopod-vfs-")
            .tempdir_in(memory_root()?)
            .context("cannot create the in-memory directory")?;
        Ok(VirtualDir {
            root,
            guest: guest.to_string(),
        })
    }

    /// Opens the file the guest calls `guest_path` for reading, from the
    /// host side. Like the guest, the host cannot leave the directory:
    /// `..` and symlinks (which a guest may have planted) are resolved
    /// inside it, through cap-std.
    pub fn open(&self, guest_path: &str) -> Result<std::fs::File> {
        let prefix = self.guest.trim_end_matches('/');
        let relative = guest_path
            .strip_prefix(prefix)
            .filter(|rest| rest.starts_with('/'))
            .map(|rest| rest.trim_start_matches('/'))
            .with_context(|| {
                format!(
                    "`{guest_path}` is not in the pod's in-memory filesystem `{}`",
                    self.guest
                )
            })?;
        let dir = cap_std::fs::Dir::open_ambient_dir(self.path(), cap_std::ambient_authority())?;
        let file = dir
            .open(relative)
            .with_context(|| format!("cannot open `{guest_path}`"))?;
        if file.metadata()?.is_dir() {
            bail!("`{guest_path}` is a directory, not a file");
        }
        Ok(file.into_std())
    }

    /// Where the copy lives (on tmpfs).
    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// The path the guest sees.
    pub fn guest(&self) -> &str {
        &self.guest
    }

    /// Writes the current state to `dest`, which must not exist yet: the
    /// tree is written next to it and renamed into place, so `dest` appears
    /// whole or not at all.
    pub fn write_out(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            bail!(
                "`{}` already exists; --vfs-out needs a new directory",
                dest.display()
            );
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let staging = tempfile::Builder::new()
            .prefix(".nanopod-vfs-out-")
            .tempdir_in(&parent)
            .with_context(|| format!("cannot write into `{}`", parent.display()))?;
        copy_tree(self.path(), staging.path())?;
        let staged = staging.keep();
        std::fs::rename(&staged, dest)
            .with_context(|| format!("cannot write `{}`", dest.display()))?;
        Ok(())
    }
}

/// The memory-backed directory copies go under.
fn memory_root() -> Result<PathBuf> {
    let root = match std::env::var_os("NANOPOD_VFS_ROOT") {
        Some(r) => PathBuf::from(r),
        None => PathBuf::from("/dev/shm"),
    };
    if !root.is_dir() {
        bail!(
            "no memory-backed directory for --vfs: `{}` does not exist (set NANOPOD_VFS_ROOT to a tmpfs)",
            root.display()
        );
    }
    Ok(root)
}

/// Copies regular files and directories from `from` into `to` (which
/// exists), preserving permissions; symlinks are skipped.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read `{}`", from.display()))?
    {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy `{}`", entry.path().display()))?;
        } else {
            tracing::warn!(
                "--vfs: skipping `{}` (not a file or directory)",
                entry.path().display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_in_memory_and_writes_out_whole() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("sub")).unwrap();
        std::fs::write(src.path().join("sub/a.txt"), "a").unwrap();
        let vfs = VirtualDir::load(src.path(), "/data").unwrap();
        assert!(
            vfs.path().starts_with("/dev/shm") || std::env::var_os("NANOPOD_VFS_ROOT").is_some()
        );
        std::fs::write(vfs.path().join("new.txt"), "n").unwrap();
        assert!(
            !src.path().join("new.txt").exists(),
            "the source is untouched"
        );

        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("state");
        vfs.write_out(&dest).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("sub/a.txt")).unwrap(),
            "a"
        );
        assert_eq!(std::fs::read_to_string(dest.join("new.txt")).unwrap(), "n");
        assert!(vfs.write_out(&dest).is_err(), "never overwrites");
        let copy = vfs.path().to_path_buf();
        drop(vfs);
        assert!(!copy.exists(), "the memory copy is removed");
    }

    #[test]
    fn rejects_missing_and_non_archive_sources() {
        assert!(VirtualDir::load(Path::new("/no/such/dir"), "/d").is_err());
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(VirtualDir::load(f.path(), "/d").is_err());
    }
}
