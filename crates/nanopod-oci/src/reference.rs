//! `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`: where nanopod takes a
//! component from a registry instead of a file.

use crate::OciError;
use oci_client::Reference;

/// The scheme that marks a component location as a registry reference.
pub const SCHEME: &str = "oci://";

/// Whether `location` (a command-line word or a `pod.toml` `file`) names
/// a registry artifact rather than a local file.
pub fn is_oci(location: &str) -> bool {
    location.starts_with(SCHEME)
}

/// A parsed `oci://` reference. The registry is always explicit: nanopod
/// never guesses a default registry (an `oci://app:1` is refused rather
/// than fetched from a public registry the user did not name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    inner: Reference,
}

impl OciRef {
    /// Parses `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]` (a missing
    /// tag and digest means `:latest`).
    pub fn parse(location: &str) -> Result<OciRef, OciError> {
        let invalid = |reason: &str| OciError::Reference {
            reference: location.to_string(),
            reason: reason.to_string(),
        };
        let rest = location
            .strip_prefix(SCHEME)
            .ok_or_else(|| invalid("it does not start with `oci://`"))?;
        let (registry, path) = rest.split_once('/').ok_or_else(|| {
            invalid("name the registry and the repository: oci://REGISTRY/REPOSITORY:TAG")
        })?;
        if registry.is_empty() || !(registry.contains(['.', ':']) || registry == "localhost") {
            return Err(invalid(
                "the first part must be a registry host (with a `.` or a `:port`, or `localhost`)",
            ));
        }
        if path.is_empty() {
            return Err(invalid("the repository is missing"));
        }
        // Parsed here rather than by the client library's reference
        // regex, whose compilation alone cost a run from the cache 20 ms.
        let (name, digest) = match path.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (path, None),
        };
        let (repository, tag) = match name.rsplit_once(':') {
            Some((repository, tag)) => (repository, Some(tag)),
            None => (name, None),
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(component_ok) {
            return Err(invalid(
                "a repository is lowercase letters, digits and `._-`, in `/`-separated parts",
            ));
        }
        if let Some(tag) = tag {
            let tag_ok = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !tag.starts_with(['.', '-']);
            if !tag_ok {
                return Err(invalid("a tag is up to 128 letters, digits and `._-`"));
            }
        }
        let (registry, repository) = (registry.to_string(), repository.to_string());
        let inner = match (tag, digest) {
            (tag, Some(digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or_else(|| invalid("nanopod takes sha256 digests only"))?;
                if hex.len() != 64
                    || !hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(invalid(
                        "a sha256 digest has 64 lowercase hexadecimal digits",
                    ));
                }
                match tag {
                    Some(tag) => Reference::with_tag_and_digest(
                        registry,
                        repository,
                        tag.into(),
                        digest.into(),
                    ),
                    None => Reference::with_digest(registry, repository, digest.into()),
                }
            }
            (tag, None) => {
                Reference::with_tag(registry, repository, tag.unwrap_or("latest").into())
            }
        };
        Ok(OciRef { inner })
    }

    /// The registry's `host[:port]`.
    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    /// The repository within the registry.
    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    /// The manifest digest the reference pins, if any.
    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// The same repository pinned to manifest `digest`.
    pub fn pinned(&self, digest: &str) -> OciRef {
        OciRef {
            inner: Reference::with_digest(
                self.registry().to_string(),
                self.repository().to_string(),
                digest.to_string(),
            ),
        }
    }

    /// The client library's reference.
    pub(crate) fn client_reference(&self) -> &Reference {
        &self.inner
    }

    /// The key of this reference in the local index: the registry,
    /// repository and tag or digest, as written.
    pub(crate) fn index_key(&self) -> String {
        self.inner.whole()
    }
}

impl std::fmt::Display for OciRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEME}{}", self.inner.whole())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests_parse_and_print_back() {
        let r = OciRef::parse("oci://127.0.0.1:5000/tools/shrink:1.2").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "tools/shrink");
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/tools/shrink:1.2");
        let digest = format!("sha256:{}", "ab".repeat(32));
        let pinned = OciRef::parse(&format!("oci://registry.example/app@{digest}")).unwrap();
        assert_eq!(pinned.digest(), Some(digest.as_str()));
        assert_eq!(r.pinned(&digest).digest(), Some(digest.as_str()));
    }

    #[test]
    fn references_without_a_registry_or_with_bad_digests_are_refused() {
        for bad in [
            "oci://app:1",
            "oci://shrink/app:1",
            "oci://localhost:5000/",
            "oci://localhost:5000/app@sha256:abc",
            "oci://localhost:5000/app@md5:00112233445566778899aabbccddeeff",
            "oci://localhost:5000/App:1",
        ] {
            assert!(OciRef::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
