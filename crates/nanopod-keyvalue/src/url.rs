//! Where a store lives, as users write it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A store's location: `memory:[LABEL]`, `file://PATH` or
/// `nats://HOST:PORT/BUCKET`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreUrl {
    /// In this process only; stores with different labels are distinct.
    Memory(String),
    /// An embedded single-file store.
    File(PathBuf),
    /// A NATS JetStream key-value bucket.
    Nats {
        /// `nats://HOST:PORT`.
        server: String,
        /// The bucket's name (created when missing).
        bucket: String,
    },
}

impl StoreUrl {
    /// Reads `spec`, taking a relative file path relative to `base`.
    pub fn parse(spec: &str, base: &Path) -> Result<StoreUrl, String> {
        if let Some(label) = spec.strip_prefix("memory:") {
            return Ok(StoreUrl::Memory(label.to_string()));
        }
        if let Some(path) = spec.strip_prefix("file://") {
            if path.is_empty() {
                return Err(format!("`{spec}` names no file"));
            }
            return Ok(StoreUrl::File(base.join(path)));
        }
        if let Some(rest) = spec.strip_prefix("nats://") {
            let (host, bucket) = rest
                .split_once('/')
                .filter(|(h, b)| !h.is_empty() && !b.is_empty())
                .ok_or_else(|| format!("`{spec}`: expected nats://HOST:PORT/BUCKET"))?;
            if !bucket
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "`{spec}`: a bucket name is letters, digits, `-` and `_`"
                ));
            }
            return Ok(StoreUrl::Nats {
                server: format!("nats://{host}"),
                bucket: bucket.to_string(),
            });
        }
        Err(format!(
            "`{spec}`: expected memory:, file://PATH or nats://HOST:PORT/BUCKET"
        ))
    }

    /// The default for a store named `name`: `.nanopod/kv/NAME.redb` under
    /// `base` (the working directory, or a manifest's directory).
    pub fn default_for(name: &str, base: &Path) -> StoreUrl {
        StoreUrl::File(
            base.join(".nanopod")
                .join("kv")
                .join(format!("{name}.redb")),
        )
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Memory(label) => write!(f, "memory:{label}"),
            StoreUrl::File(path) => write!(f, "file://{}", path.display()),
            StoreUrl::Nats { server, bucket } => write!(f, "{server}/{bucket}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let base = Path::new("/pod");
        assert_eq!(
            StoreUrl::parse("memory:", base).unwrap(),
            StoreUrl::Memory(String::new())
        );
        assert_eq!(
            StoreUrl::parse("file://data/kv.redb", base).unwrap(),
            StoreUrl::File("/pod/data/kv.redb".into())
        );
        assert_eq!(
            StoreUrl::parse("file:///tmp/kv.redb", base).unwrap(),
            StoreUrl::File("/tmp/kv.redb".into())
        );
        let nats = StoreUrl::parse("nats://127.0.0.1:4222/hits", base).unwrap();
        assert_eq!(nats.to_string(), "nats://127.0.0.1:4222/hits");
        for bad in [
            "redis://x",
            "nats://host",
            "nats://h:1/a.b",
            "file://",
            "kv.redb",
        ] {
            assert!(StoreUrl::parse(bad, base).is_err(), "{bad}");
        }
        assert_eq!(
            StoreUrl::default_for("cache", base).to_string(),
            "file:///pod/.nanopod/kv/cache.redb"
        );
    }
}
