//! The image: the embedded files and environment as one flat byte string,
//! which [`crate::embed`] puts in the virtual filesystem's linear memory and
//! the virtual filesystem (`guests/virt/src/image.rs`) reads.
//!
//! Layout, integers little-endian, strings as a `u32` length and UTF-8:
//!
//! ```text
//! "NPVIMG01"  u64 tree_len  tree  contents…
//! tree:  u32 n, n × (string guest_path, u32 node)         the preopens
//!        u8 embedded (0: the host's environment passes through)
//!        u32 n, n × (string name, string value)           the environment
//!        u32 n, n × node                   parents first; each directory's
//!                                          children in byte order of name
//! node:  u8 kind (0 dir, 1 file), u32 parent (u32::MAX for a preopen),
//!        string name, u64 offset of the contents in the image, u64 size,
//!        u64 mtime seconds, u32 mtime nanoseconds
//! ```

use anyhow::{Context, Result, bail};
use nanopod_host::vfs::VirtualDir;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

const MAGIC: &[u8; 8] = b"NPVIMG01";
const NO_PARENT: u32 = u32::MAX;

/// A host directory (or `.tar` archive) to embed, and where the guest sees it.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The directory or archive on the host.
    pub host: PathBuf,
    /// The preopen's name in the guest, e.g. `/assets`.
    pub guest: String,
}

/// A built image, with what went into it.
#[derive(Debug)]
pub struct Image {
    /// The image bytes.
    pub bytes: Vec<u8>,
    /// Regular files embedded.
    pub files: usize,
    /// Their total size in bytes.
    pub file_bytes: u64,
}

struct Node {
    is_dir: bool,
    parent: u32,
    name: String,
    /// Offset of the contents within the contents area.
    offset: u64,
    size: u64,
    mtime: (u64, u32),
}

/// Builds the image of `mounts` and `env`. Symlinks and special files are
/// skipped with a warning: a symlink could point out of the directory, and
/// embedding what it points at would leak a file the user did not name.
/// `env` of `None` lets the host's environment through.
pub fn build(mounts: &[Mount], env: Option<&[(String, String)]>) -> Result<Image> {
    let mut nodes = Vec::new();
    let mut contents = Vec::new();
    let mut preopens = Vec::new();
    for mount in mounts {
        let root = nodes.len() as u32;
        preopens.push((mount.guest.clone(), root));
        let meta = std::fs::metadata(&mount.host)
            .with_context(|| format!("cannot open `{}`", mount.host.display()))?;
        nodes.push(Node {
            is_dir: true,
            parent: NO_PARENT,
            name: String::new(),
            offset: 0,
            size: 0,
            mtime: mtime(&meta),
        });
        if meta.is_dir() {
            walk(&mount.host, root, &mut nodes, &mut contents)?;
        } else {
            // A .tar archive (anything else is refused by `load`), unpacked
            // in memory first.
            // Bounded by what one 32-bit memory can embed.
            let unpacked = VirtualDir::load(&mount.host, &mount.guest, 4 << 30)?;
            walk(unpacked.path(), root, &mut nodes, &mut contents)?;
        }
    }
    if nodes.len() >= NO_PARENT as usize {
        bail!("too many files to embed");
    }

    let encode_tree = |base: u64| {
        let mut t = Vec::new();
        put_u32(&mut t, preopens.len() as u32);
        for (path, node) in &preopens {
            put_str(&mut t, path);
            put_u32(&mut t, *node);
        }
        t.push(u8::from(env.is_some()));
        let env = env.unwrap_or_default();
        put_u32(&mut t, env.len() as u32);
        for (name, value) in env {
            put_str(&mut t, name);
            put_str(&mut t, value);
        }
        put_u32(&mut t, nodes.len() as u32);
        for n in &nodes {
            t.push(if n.is_dir { 0 } else { 1 });
            put_u32(&mut t, n.parent);
            put_str(&mut t, &n.name);
            t.extend_from_slice(&(base + n.offset).to_le_bytes());
            t.extend_from_slice(&n.size.to_le_bytes());
            t.extend_from_slice(&n.mtime.0.to_le_bytes());
            put_u32(&mut t, n.mtime.1);
        }
        t
    };
    // Offsets have a fixed width, so the tree's length does not depend on them.
    let tree_len = encode_tree(0).len() as u64;
    let tree = encode_tree(16 + tree_len);

    let mut bytes = Vec::with_capacity(16 + tree.len() + contents.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&tree_len.to_le_bytes());
    bytes.extend_from_slice(&tree);
    bytes.extend_from_slice(&contents);
    let files = nodes.iter().filter(|n| !n.is_dir).count();
    Ok(Image {
        bytes,
        files,
        file_bytes: contents.len() as u64,
    })
}

/// Adds the entries of `dir` under node `parent`, sorted by name: images
/// are reproducible, and the virtual filesystem finds a child by binary
/// search.
fn walk(dir: &Path, parent: u32, nodes: &mut Vec<Node>, contents: &mut Vec<u8>) -> Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read `{}`", dir.display()))?
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("cannot read `{}`", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|n| anyhow::anyhow!("`{}` is not a UTF-8 name", n.to_string_lossy()))?;
        // Not followed: `file_type` describes a symlink itself.
        let kind = entry.file_type()?;
        if !kind.is_dir() && !kind.is_file() {
            tracing::warn!(
                "virtualize: skipping `{}` (not a file or directory)",
                path.display()
            );
            continue;
        }
        let meta = entry.metadata()?;
        let index = nodes.len() as u32;
        let offset = contents.len() as u64;
        if kind.is_file() {
            std::fs::File::open(&path)
                .and_then(|mut f| f.read_to_end(contents))
                .with_context(|| format!("cannot read `{}`", path.display()))?;
        }
        nodes.push(Node {
            is_dir: kind.is_dir(),
            parent,
            name,
            offset,
            size: contents.len() as u64 - offset,
            mtime: mtime(&meta),
        });
        if kind.is_dir() {
            walk(&path, index, nodes, contents)?;
        }
    }
    Ok(())
}

fn mtime(meta: &std::fs::Metadata) -> (u64, u32) {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| (d.as_secs(), d.subsec_nanos()))
        .unwrap_or((0, 0))
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_tree_then_contents_and_skips_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.txt"), "bee").unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("leak")).unwrap();
        let mounts = [Mount {
            host: dir.path().into(),
            guest: "/d".into(),
        }];
        let image = build(&mounts, Some(&[("K".into(), "V".into())])).unwrap();
        assert_eq!(&image.bytes[..8], MAGIC);
        assert_eq!(image.files, 2);
        assert_eq!(image.file_bytes, 4);
        assert!(
            image.bytes.ends_with(b"abee"),
            "contents follow the tree in name order"
        );
        let text = String::from_utf8_lossy(&image.bytes);
        assert!(
            !text.contains("leak") && !text.contains("root:"),
            "symlinks are not embedded"
        );
    }

    #[test]
    fn refuses_a_missing_directory() {
        let mounts = [Mount {
            host: "/no/such/dir".into(),
            guest: "/d".into(),
        }];
        let err = build(&mounts, None).unwrap_err();
        assert!(format!("{err:#}").contains("cannot open `/no/such/dir`"));
    }
}
