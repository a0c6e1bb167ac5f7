//! The pod's one WASI context. A statically composed pod is one component
//! in one store, so the host gives it one WASI context: the union of what
//! its components were granted. Least privilege is kept by wiring each
//! component that lacks a capability to a deny adapter ([`crate::deny`]).
//!
//! What one context cannot express is refused: two components granted the
//! same kind of capability in different measure (each its own directory,
//! say) would both see the union.

use nanopod_host::Capability;
use nanopod_host::Grants;
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
}

/// Two components granted one capability in different measure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "components `{first}` and `{second}` are both granted {} but not the same ones; \
     a pod's components share one WASI context, so a capability may be granted to \
     several components only in equal measure (see docs/pods.md)",
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
    let mut holders: BTreeMap<Capability, (&str, &Grants, Vec<String>)> = BTreeMap::new();
    for (name, g) in members {
        let mine = granted.entry(name.to_string()).or_default();
        for cap in Capability::GRANTED {
            let m = g.measure(cap);
            if m.is_empty() {
                continue;
            }
            mine.insert(cap);
            match holders.get(&cap) {
                Some((first, _, held)) if *held != m => {
                    return Err(ShareError {
                        capability: cap,
                        first: first.to_string(),
                        second: name.to_string(),
                    });
                }
                Some(_) => {}
                None => {
                    holders.insert(cap, (name, g, m));
                }
            }
        }
    }
    let mut grants = Grants::new();
    for (cap, (_, g, _)) in &holders {
        grants.merge_capability(g, *cap);
    }
    Ok(Shared {
        grants,
        capabilities: holders.keys().copied().collect(),
        granted,
    })
}
