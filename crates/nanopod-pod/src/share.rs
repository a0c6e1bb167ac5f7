//! The pod's one WASI context. A statically composed pod is one component
//! in one store, so the host gives it one WASI context: the union of what
//! its components were granted. Least privilege is kept in the
//! composition: a component that lacks a capability the union holds, or
//! holds it in another measure than its peers, reaches it through a view
//! of its own grant ([`nanopod_host::Views`], for directories, environment
//! variables and HTTP hosts) or a deny adapter ([`crate::deny`]).
//!
//! What neither can express is refused: two components granted sockets,
//! configuration values or key-value stores in different measure would
//! both see the union.

use nanopod_host::{Capability, Grants, Views};
use std::collections::{BTreeMap, BTreeSet};

/// The shared context and who may use what.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The union of the components' grants.
    pub grants: Grants,
    /// The capabilities the union holds.
    pub capabilities: BTreeSet<Capability>,
    /// Each component's capabilities.
    pub granted: BTreeMap<String, BTreeSet<Capability>>,
    /// The capabilities granted to several components in different
    /// measure: each holder reaches them through a view of its own grant.
    pub narrowed: BTreeSet<Capability>,
}

/// Two components granted one capability in different measure, which no
/// view can narrow.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "components `{first}` and `{second}` are both granted {} but not the same ones; \
     a pod's components share one WASI context, and only directories, environment \
     variables and HTTP hosts can be granted to each in its own measure (see docs/pods.md)",
    capability.quoted_keys()
)]
pub struct ShareError {
    /// The capability.
    pub capability: Capability,
    /// One component.
    pub first: String,
    /// The other.
    pub second: String,
}

/// Builds the shared context from each component's grants.
pub(crate) fn share<'a>(
    members: impl IntoIterator<Item = (&'a str, &'a Grants)>,
) -> Result<Shared, ShareError> {
    let mut granted: BTreeMap<String, BTreeSet<Capability>> = BTreeMap::new();
    let mut holders: BTreeMap<Capability, (&str, Vec<String>)> = BTreeMap::new();
    let mut narrowed = BTreeSet::new();
    let mut grants = Grants::new();
    for (name, g) in members {
        let mine = granted.entry(name.to_string()).or_default();
        for cap in Capability::GRANTED {
            let m = g.measure(cap);
            if m.is_empty() {
                continue;
            }
            mine.insert(cap);
            match holders.get(&cap) {
                Some((_, held)) if *held == m => continue,
                Some(_) if Views::can_narrow(cap) => {
                    narrowed.insert(cap);
                }
                Some((first, _)) => {
                    return Err(ShareError {
                        capability: cap,
                        first: first.to_string(),
                        second: name.to_string(),
                    });
                }
                None => {
                    holders.insert(cap, (name, m));
                }
            }
            grants.merge_capability(g, cap);
        }
    }
    Ok(Shared {
        grants,
        capabilities: holders.keys().copied().collect(),
        granted,
        narrowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanopod_host::capability::sockets::SocketUse;

    fn env(value: &str) -> Grants {
        let mut g = Grants::new();
        g.env("ROLE", value);
        g
    }

    fn connect(spec: &str) -> Grants {
        let mut g = Grants::new();
        g.allow_socket(SocketUse::Connect, spec).unwrap();
        g
    }

    #[test]
    fn equal_grants_are_shared_as_they_are() {
        let (a, b) = (env("x"), env("x"));
        let shared = share([("a", &a), ("b", &b)]).unwrap();
        assert!(shared.narrowed.is_empty());
        assert_eq!(shared.grants.env_vars(), a.env_vars());
    }

    #[test]
    fn different_measures_are_narrowed_where_a_view_can() {
        let (a, b) = (env("a"), env("b"));
        let shared = share([("a", &a), ("b", &b)]).unwrap();
        assert_eq!(shared.narrowed, BTreeSet::from([Capability::Environment]));
        assert_eq!(shared.grants.env_vars().len(), 2, "the union holds both");
    }

    #[test]
    fn different_measures_no_view_narrows_are_refused() {
        let (a, b) = (connect("127.0.0.1:1"), connect("127.0.0.1:2"));
        let e = share([("a", &a), ("b", &b)]).unwrap_err();
        assert_eq!(
            (e.capability, e.first.as_str(), e.second.as_str()),
            (Capability::Network, "a", "b")
        );
    }
}
