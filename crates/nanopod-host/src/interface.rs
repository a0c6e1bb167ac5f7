//! Names of imported and exported items, and the one rule for when two of
//! them name the same thing.
//!
//! An interface is `namespace:package/interface@version`, the version
//! optional. Two names match when their unversioned parts are equal and
//! their versions are semver-compatible the way wasmtime's linker matches
//! imports: the same major version from 1.0 on, the same minor version for
//! 0.x, the exact version for 0.0.x and pre-releases. A name without a
//! version (as a user may write it in `pod.toml`) matches every version.
//! Names without a `/` (a component's own functions) match only themselves.

use std::fmt;

/// A parsed `ns:pkg/iface@version`, or a plain item name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceName {
    /// `ns:pkg/iface`, or the plain name.
    unversioned: String,
    /// The version, if given and valid.
    version: Option<semver::Version>,
}

impl InterfaceName {
    /// Parses `name`. An unparsable version is kept as part of the name, so
    /// such a name matches only itself.
    pub fn parse(name: &str) -> Self {
        match name.split_once('@') {
            Some((base, version)) => match semver::Version::parse(version) {
                Ok(v) => InterfaceName {
                    unversioned: base.to_string(),
                    version: Some(v),
                },
                Err(_) => InterfaceName {
                    unversioned: name.to_string(),
                    version: None,
                },
            },
            None => InterfaceName {
                unversioned: name.to_string(),
                version: None,
            },
        }
    }

    /// `ns:pkg/iface` without the version.
    pub fn unversioned(&self) -> &str {
        &self.unversioned
    }

    /// `ns:pkg`, for an interface name.
    pub fn package(&self) -> Option<&str> {
        self.unversioned.split_once('/').map(|(p, _)| p)
    }

    /// `iface`, the short name (`counting` for
    /// `nanopod:examples/counting@0.1.0`); the plain name otherwise.
    pub fn short(&self) -> &str {
        self.unversioned
            .rsplit_once('/')
            .map_or(&self.unversioned, |(_, i)| i)
    }

    /// The version, if the name has one.
    pub fn version(&self) -> Option<&semver::Version> {
        self.version.as_ref()
    }

    /// Whether `self` and `other` name the same interface under the rule in
    /// the module docs.
    pub fn matches(&self, other: &InterfaceName) -> bool {
        if self.unversioned != other.unversioned {
            return false;
        }
        match (&self.version, &other.version) {
            (Some(a), Some(b)) => compatibility(a) == compatibility(b),
            _ => true,
        }
    }
}

/// What two versions must share to be compatible.
fn compatibility(v: &semver::Version) -> (u64, u64, u64, &semver::Prerelease) {
    match (v.major, v.minor) {
        _ if !v.pre.is_empty() => (v.major, v.minor, v.patch, &v.pre),
        (0, 0) => (0, 0, v.patch, &v.pre),
        (0, minor) => (0, minor, 0, &v.pre),
        (major, _) => (major, 0, 0, &v.pre),
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}@{v}", self.unversioned),
            None => f.write_str(&self.unversioned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_interface(a: &str, b: &str) -> bool {
        InterfaceName::parse(a).matches(&InterfaceName::parse(b))
    }

    #[test]
    fn versions_match_as_the_linker_matches_them() {
        let m = same_interface;
        assert!(m("wasi:cli/run@0.2.0", "wasi:cli/run@0.2.6"));
        assert!(!m("wasi:cli/run@0.2.0", "wasi:cli/run@0.3.0"));
        assert!(m("a:b/c@1.0.0", "a:b/c@1.4.2"));
        assert!(!m("a:b/c@1.0.0", "a:b/c@2.0.0"));
        assert!(!m("a:b/c@0.0.1", "a:b/c@0.0.2"));
        assert!(!m("a:b/c@1.0.0-rc.1", "a:b/c@1.0.0"));
        assert!(m("a:b/c", "a:b/c@2.0.0"), "no version matches any");
        assert!(!m("a:b/c", "a:b/d"));
        assert!(m("add", "add"));
        assert!(!m("add", "sub"));
    }

    #[test]
    fn parts() {
        let n = InterfaceName::parse("nanopod:examples/counting@0.1.0");
        assert_eq!(n.unversioned(), "nanopod:examples/counting");
        assert_eq!(n.package(), Some("nanopod:examples"));
        assert_eq!(n.short(), "counting");
        assert_eq!(n.version().map(|v| v.to_string()), Some("0.1.0".into()));
        assert_eq!(n.to_string(), "nanopod:examples/counting@0.1.0");
        assert_eq!(InterfaceName::parse("add").short(), "add");
        // A version that is not semver stays part of the name.
        assert!(!same_interface("a:b/c@x", "a:b/c@y"));
        assert!(same_interface("a:b/c@x", "a:b/c@x"));
    }
}
