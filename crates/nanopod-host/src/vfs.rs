//! `--vfs`: a private in-memory copy of a directory or `.tar` archive,
//! preopened for the guest in place of the host directory.
//!
//! The copy lives on a tmpfs of its own (`tmpfs.rs`): mounted in a
//! private namespace with a size limit, reachable only through a
//! descriptor this process holds. So the guest can read, create, rename
//! and delete files with exactly the semantics of a real preopen (it *is*
//! one, through wasmtime-wasi and cap-std) while nothing reaches the host
//! disk; a write past the limit fails as on a full disk (`ENOSPC`,
//! `insufficient-space`) and the run goes on; and the kernel frees the
//! copy when nanopod exits, however it exits (`SIGKILL` included), so
//! nothing is ever left behind. `--vfs-out` writes the final state out
//! after a successful run.
//!
//! Where the system refuses user namespaces, `--vfs` needs
//! `NANOPOD_VFS_ROOT`: a directory on a tmpfs the user sized, under which
//! copies are private (0700) directories, removed after the run, and swept
//! at the next start if their process died.
//!
//! Deliberately left out: symlinks (in a source directory or archive) are
//! not copied (a guest could not follow them out of the preopen anyway).

use crate::tmpfs::PrivateTmpfs;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The size of a copy when nothing else is said (`--vfs-max`,
/// `scratch-max`, or the component's `--max-memory`).
pub const DEFAULT_MAX: u64 = 256 << 20;

/// An in-memory copy of a directory tree.
#[derive(Debug)]
pub struct VirtualDir {
    /// Keeps the copy alive.
    _root: Root,
    path: PathBuf,
    guest: String,
    max: u64,
}

#[derive(Debug)]
enum Root {
    /// A tmpfs of its own.
    Private(PrivateTmpfs),
    /// A directory under `NANOPOD_VFS_ROOT`.
    Shared(tempfile::TempDir),
}

impl VirtualDir {
    /// Copies `source` (a directory, or a `.tar` file) into memory, to be
    /// seen by the guest as `guest`, in a copy that may hold at most `max`
    /// bytes (the source included: one that does not fit is refused).
    pub fn load(source: &Path, guest: &str, max: u64) -> Result<Self> {
        let meta = std::fs::metadata(source)
            .with_context(|| format!("cannot open `{}`", source.display()))?;
        let is_tar = source.extension().is_some_and(|e| e == "tar");
        if !(meta.is_dir() || (meta.is_file() && is_tar)) {
            bail!(
                "`{}` is neither a directory nor a .tar archive",
                source.display()
            );
        }
        if meta.is_dir() {
            refuse_copy_into_itself(source)?;
        }
        let dir = Self::empty(guest, max)?;
        let copied = if meta.is_dir() {
            // 50,000 files take seconds: say what is being copied.
            let mut progress = Copied {
                spinner: crate::files::terminal_spinner(format!(
                    "copying `{}` into memory",
                    source.display()
                )),
                ..Copied::default()
            };
            let copied = copy_tree(source, dir.path(), &mut progress);
            if let Some(pb) = progress.spinner {
                pb.finish_and_clear();
            }
            copied
        } else {
            unpack(source, dir.path())
        };
        if let Err(e) = copied {
            if is_full(&e) {
                bail!(
                    "`{}` does not fit in {} of in-memory space (raise it with --vfs-max)",
                    source.display(),
                    crate::files::size_text(max)
                );
            }
            return Err(e);
        }
        Ok(dir)
    }

    /// An empty in-memory directory of at most `max` bytes, seen by the
    /// guest as `guest`: the scratch space a pod's pipeline steps share.
    pub fn empty(guest: &str, max: u64) -> Result<Self> {
        let root = match std::env::var_os("NANOPOD_VFS_ROOT") {
            Some(shared) => Root::Shared(shared_dir(Path::new(&shared))?),
            None => Root::Private(
                PrivateTmpfs::mount(max, (max / 4096).max(256)).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot make a private tmpfs for the in-memory directory ({e}); where user namespaces are refused, set NANOPOD_VFS_ROOT to a directory on a tmpfs of bounded size"
                    )
                })?,
            ),
        };
        let path = match &root {
            Root::Private(fs) => fs.path(),
            Root::Shared(dir) => dir.path().to_path_buf(),
        };
        Ok(VirtualDir {
            _root: root,
            path,
            guest: guest.to_string(),
            max,
        })
    }

    /// The most bytes it may hold.
    pub fn max(&self) -> u64 {
        self.max
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

    /// Where the copy lives, for this process (a `/proc/self/fd` path for
    /// a private tmpfs).
    pub fn path(&self) -> &Path {
        &self.path
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
        // A run killed while writing out leaves its staging tree; the next
        // write-out beside it removes those whose process is gone.
        sweep(&parent, STAGING_PREFIX);
        let staging = tempfile::Builder::new()
            .prefix(&format!("{STAGING_PREFIX}{}-", std::process::id()))
            .tempdir_in(&parent)
            .with_context(|| format!("cannot write into `{}`", parent.display()))?;
        copy_tree(self.path(), staging.path(), &mut Copied::default())?;
        let staged = staging.keep();
        std::fs::rename(&staged, dest)
            .with_context(|| format!("cannot write `{}`", dest.display()))?;
        Ok(())
    }
}

/// Refuses a source directory that holds `NANOPOD_VFS_ROOT`, where its
/// copy would be made: the copy would copy itself until paths grew too
/// long. (A private tmpfs, the default, is in no directory.)
fn refuse_copy_into_itself(source: &Path) -> Result<()> {
    let Some(root) = std::env::var_os("NANOPOD_VFS_ROOT") else {
        return Ok(());
    };
    let (Ok(source), Ok(root)) = (source.canonicalize(), Path::new(&root).canonicalize()) else {
        return Ok(());
    };
    if root.starts_with(&source) {
        bail!(
            "`{}` holds NANOPOD_VFS_ROOT (`{}`), where its in-memory copy would be made, so it would copy itself: set NANOPOD_VFS_ROOT outside it",
            source.display(),
            root.display()
        );
    }
    Ok(())
}

/// A fresh private directory under `root` (`NANOPOD_VFS_ROOT`), named
/// for this process; first removes those of processes that are gone.
fn shared_dir(root: &Path) -> Result<tempfile::TempDir> {
    if !root.is_dir() {
        bail!("NANOPOD_VFS_ROOT: `{}` is not a directory", root.display());
    }
    sweep(root, COPY_PREFIX);
    tempfile::Builder::new()
        .prefix(&format!("{COPY_PREFIX}{}-", std::process::id()))
        .tempdir_in(root)
        .context("cannot create the in-memory directory")
}

/// The name of an in-memory copy under `NANOPOD_VFS_ROOT`: then its
/// owner's pid and a random part.
const COPY_PREFIX: &str = "nanopod-vfs-";

/// The name of a `--vfs-out` tree being written beside its destination.
const STAGING_PREFIX: &str = ".nanopod-vfs-out-";

/// Removes the entries of `root` named `PREFIX{pid}-…` whose process no
/// longer runs.
fn sweep(root: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            tracing::info!(
                "removing `{}`, left by process {pid}",
                entry.path().display()
            );
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether `e` is a full filesystem.
fn is_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.raw_os_error() == Some(libc::ENOSPC))
    })
}

/// Unpacks the regular files and directories of the archive `tar` into
/// `to`; other entries (symlinks, hard links, devices) are skipped.
fn unpack(tar: &Path, to: &Path) -> Result<()> {
    let cannot = || format!("cannot unpack `{}`", tar.display());
    let file = std::fs::File::open(tar).with_context(cannot)?;
    let mut archive = tar::Archive::new(file);
    archive.set_preserve_permissions(true);
    for entry in archive.entries().with_context(cannot)? {
        let mut entry = entry.with_context(cannot)?;
        let kind = entry.header().entry_type();
        if kind.is_file() || kind.is_dir() {
            // Only plain names: no `..`, no root (`tar` refuses them too);
            // with no symlinks unpacked, nothing leads out of `to`.
            let path = entry.path().with_context(cannot)?.into_owned();
            let mut target = to.to_path_buf();
            for part in path.components() {
                match part {
                    std::path::Component::Normal(name) => target.push(name),
                    std::path::Component::CurDir => {}
                    _ => bail!(
                        "`{}` holds `{}`, which leads out of it",
                        tar.display(),
                        path.display()
                    ),
                }
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).with_context(cannot)?;
            }
            if kind.is_dir() {
                std::fs::create_dir_all(&target).with_context(cannot)?;
            } else {
                entry.unpack(&target).with_context(cannot)?;
            }
        } else {
            tracing::warn!(
                "--vfs: skipping `{}` in the archive (not a file or directory)",
                entry
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// What a copy has done so far, shown on its spinner.
#[derive(Default)]
struct Copied {
    files: u64,
    bytes: u64,
    spinner: Option<indicatif::ProgressBar>,
}

/// Copies regular files and directories from `from` into `to` (which
/// exists), preserving permissions; symlinks are skipped.
fn copy_tree(from: &Path, to: &Path, progress: &mut Copied) -> Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read `{}`", from.display()))?
    {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_tree(&entry.path(), &target, progress)?;
        } else if kind.is_file() {
            progress.bytes += std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy `{}`", entry.path().display()))?;
            progress.files += 1;
            if let Some(pb) = &progress.spinner
                && progress.files.is_multiple_of(256)
            {
                pb.set_message(format!(
                    "copying into memory: {} files, {} MiB",
                    progress.files,
                    progress.bytes >> 20
                ));
            }
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
        let vfs = VirtualDir::load(src.path(), "/data", DEFAULT_MAX).unwrap();
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
        assert!(!copy.join("new.txt").exists(), "the memory copy is gone");
    }

    #[test]
    fn rejects_missing_and_non_archive_sources() {
        assert!(VirtualDir::load(Path::new("/no/such/dir"), "/d", DEFAULT_MAX).is_err());
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(VirtualDir::load(f.path(), "/d", DEFAULT_MAX).is_err());
    }

    #[test]
    fn a_source_larger_than_the_space_is_refused() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("big"), vec![7u8; 2 << 20]).unwrap();
        let error = VirtualDir::load(src.path(), "/d", 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with("does not fit in 1 MiB of in-memory space (raise it with --vfs-max)"),
            "{error}"
        );
    }
}
