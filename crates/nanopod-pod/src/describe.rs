//! A pod's shape as a serde model, for `nanopod inspect POD.toml`: its
//! components and grants, its links (and which of them copy byte lists),
//! what was denied and what each reaches through a view of its own grant,
//! its serve chain and pipeline.

use crate::grant::GrantSpec;
use crate::pod::{Pod, PodInfo, byte_list_hint};
use serde::Serialize;
use std::path::PathBuf;

/// What `inspect POD.toml` shows of the pod itself; the rest of its
/// report describes the composed entry component.
#[derive(Serialize, Debug)]
pub struct PodReport {
    /// The entry component.
    pub entry: String,
    /// The function `up` calls by default.
    pub invoke: Option<String>,
    /// Every component of the manifest.
    pub components: Vec<MemberReport>,
    /// Every link, in words.
    pub links: Vec<String>,
    /// `component: import` pairs wired to a deny adapter.
    pub denied: Vec<String>,
    /// `component: import` pairs the host serves with the component's own
    /// grant.
    pub views: Vec<String>,
    /// `[serve] chain`, outermost first.
    pub serve_chain: Vec<String>,
    /// A pipeline's steps: the component and its words.
    pub steps: Vec<String>,
}

/// One component of the manifest.
#[derive(Serialize, Debug)]
pub struct MemberReport {
    /// Its name.
    pub name: String,
    /// Its file, as the manifest names it.
    pub file: PathBuf,
    /// Its grants, as the manifest spells them.
    pub grants: Vec<String>,
}

impl<G: GrantSpec> Pod<G> {
    /// The pod's shape, with what composing its entry found (`info`).
    pub fn describe(&self, info: &PodInfo) -> PodReport {
        let m = &self.manifest;
        PodReport {
            entry: self.plan.entry.clone(),
            invoke: m.invoke.clone(),
            components: m
                .components
                .iter()
                .map(|(name, spec)| MemberReport {
                    name: name.clone(),
                    file: spec.file.clone(),
                    // Variables by key only: their values may be secrets.
                    grants: spec
                        .grants
                        .describe()
                        .into_iter()
                        .chain(spec.variables.keys().map(|k| format!("variable {k}")))
                        .collect(),
                })
                .collect(),
            links: m
                .links
                .iter()
                .map(|l| match &l.remote {
                    None => {
                        let bytes = info
                            .byte_lists
                            .iter()
                            .find(|(b, _)| b == l)
                            .map(|(_, functions)| format!("; {}", byte_list_hint(functions)))
                            .unwrap_or_default();
                        format!("{} → {}: {} (in-process{bytes})", l.from, l.to, l.import)
                    }
                    Some(url) => format!(
                        "{} → {url}: {} (remote, timeout {:?})",
                        l.from,
                        l.import,
                        l.remote_timeout()
                    ),
                })
                .collect(),
            denied: pairs(&info.denied),
            views: pairs(&info.viewed),
            serve_chain: m
                .serve
                .as_ref()
                .map(|s| s.chain.clone())
                .unwrap_or_default(),
            steps: m
                .steps
                .iter()
                .map(|s| {
                    format!("{} {}", s.component, s.args.join(" "))
                        .trim_end()
                        .to_string()
                })
                .collect(),
        }
    }
}

/// `component: import` for each pair.
fn pairs(pairs: &[(String, String)]) -> Vec<String> {
    pairs.iter().map(|(c, i)| format!("{c}: {i}")).collect()
}
