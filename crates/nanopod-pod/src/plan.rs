//! Checks a manifest's shape before any binary is read: every link names
//! components that exist, no import is served twice, there is no cycle, and
//! there is one entry. Types are checked later, against the binaries
//! (`crate::compose`).

use crate::manifest::{Link, Manifest};
use nanopod_host::InterfaceName;
use std::collections::{BTreeMap, BTreeSet};

/// A manifest error found before anything runs. Each names both ends.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// The manifest lists no component.
    #[error("the pod has no components: add a `[components.NAME]` table with `file = \"….wasm\"`")]
    Empty,
    /// A link names a component that is not in `[components]`.
    #[error("link {link} names unknown component `{name}` (the pod has: {known})")]
    UnknownComponent {
        /// The link.
        link: Box<Link>,
        /// The unknown name.
        name: String,
        /// The components the pod has.
        known: String,
    },
    /// A link names both a component and a remote exporter, or neither, or
    /// gives remote settings to a local link.
    #[error("link {link}: {problem}")]
    LinkTarget {
        /// The link.
        link: Box<Link>,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A component is linked to itself.
    #[error("link {0} links a component to itself")]
    SelfLink(Box<Link>),
    /// Two links serve the same import of one component.
    #[error("`{from}`'s import `{import}` is linked twice: to `{first}` and to `{second}`")]
    Duplicate {
        /// The importer.
        from: String,
        /// The import.
        import: String,
        /// The first server.
        first: String,
        /// The second server.
        second: String,
    },
    /// The links form a cycle.
    #[error("the links form a cycle: {0}")]
    Cycle(String),
    /// `[serve] chain` names a component that is not in `[components]`.
    #[error("`[serve] chain` names unknown component `{name}` (the pod has: {known})")]
    UnknownChainMember {
        /// The unknown name.
        name: String,
        /// The components the pod has.
        known: String,
    },
    /// A `[[step]]` names a component that is not in `[components]`.
    #[error("`[[step]]` {index} names unknown component `{name}` (the pod has: {known})")]
    UnknownStepComponent {
        /// The step, from 1.
        index: usize,
        /// The unknown name.
        name: String,
        /// The components the pod has.
        known: String,
    },
    /// `scratch` is not an absolute guest path.
    #[error("`scratch = \"{0}\"` must be an absolute path such as `/out`")]
    BadScratch(String),
    /// `entry` names a component that is not in `[components]`.
    #[error("`entry = \"{0}\"` is not one of the pod's components")]
    UnknownEntry(String),
    /// No `entry`, and more than one component could be it.
    #[error("set `entry = \"…\"`: more than one component serves no link ({0})")]
    AmbiguousEntry(String),
}

/// The order to instantiate components in (every server before its
/// importers) and the entry component.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// Component names, servers first.
    pub order: Vec<String>,
    /// The component whose exports the pod exports.
    pub entry: String,
}

impl Plan {
    /// The plan of the part of the pod made of `members` (a component and
    /// what its links reach, see [`reachable`]) entered at `root`.
    pub fn restricted_to(&self, members: &BTreeSet<String>, root: &str) -> Plan {
        Plan {
            order: self
                .order
                .iter()
                .filter(|n| members.contains(*n))
                .cloned()
                .collect(),
            entry: root.to_string(),
        }
    }
}

/// Checks the manifest's names and links and orders its components.
pub fn plan<C>(manifest: &Manifest<C>) -> Result<Plan, PlanError> {
    let names: BTreeSet<&str> = manifest.components.keys().map(String::as_str).collect();
    if names.is_empty() {
        return Err(PlanError::Empty);
    }
    let known = || {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut served: Vec<(&str, InterfaceName, &str)> = Vec::new();
    for link in &manifest.links {
        let problem = match (&link.remote, link.to.is_empty()) {
            (Some(_), false) => Some("give `to` (a component of this pod) or `remote`, not both"),
            (None, true) => Some(
                "say which component serves it with `to = \"…\"`, or `remote = \"tcp://HOST:PORT\"`",
            ),
            (None, false) if link.timeout.is_some() || link.token_file.is_some() => {
                Some("`timeout` and `token-file` are for remote links")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(PlanError::LinkTarget {
                link: Box::new(link.clone()),
                problem,
            });
        }
        let ends = if link.is_local() {
            vec![&link.from, &link.to]
        } else {
            vec![&link.from]
        };
        for end in ends {
            if !names.contains(end.as_str()) {
                return Err(PlanError::UnknownComponent {
                    link: Box::new(link.clone()),
                    name: end.clone(),
                    known: known(),
                });
            }
        }
        if link.from == link.to {
            return Err(PlanError::SelfLink(Box::new(link.clone())));
        }
        let server = link.remote.as_deref().unwrap_or(&link.to);
        let import = InterfaceName::parse(&link.import);
        if let Some((_, _, first)) = served
            .iter()
            .find(|(from, i, _)| *from == link.from && i.matches(&import))
        {
            return Err(PlanError::Duplicate {
                from: link.from.clone(),
                import: link.import.clone(),
                first: first.to_string(),
                second: server.to_string(),
            });
        }
        served.push((&link.from, import, server));
    }
    let chain = manifest.serve.as_ref().map_or(&[][..], |s| &s.chain[..]);
    if let Some(name) = chain.iter().find(|n| !names.contains(n.as_str())) {
        return Err(PlanError::UnknownChainMember {
            name: name.clone(),
            known: known(),
        });
    }
    for (i, step) in manifest.steps.iter().enumerate() {
        if !names.contains(step.component.as_str()) {
            return Err(PlanError::UnknownStepComponent {
                index: i + 1,
                name: step.component.clone(),
                known: known(),
            });
        }
    }
    if let Some(scratch) = &manifest.scratch
        && (!scratch.starts_with('/') || scratch.split('/').any(|c| c == ".."))
    {
        return Err(PlanError::BadScratch(scratch.clone()));
    }
    let local: Vec<Link> = manifest
        .links
        .iter()
        .filter(|l| l.is_local())
        .cloned()
        .collect();
    let order = topological(&names, &local)?;
    let entry = match &manifest.entry {
        Some(e) if names.contains(e.as_str()) => e.clone(),
        Some(e) => return Err(PlanError::UnknownEntry(e.clone())),
        None => {
            let servers: BTreeSet<&str> = local.iter().map(|l| l.to.as_str()).collect();
            let candidates: Vec<&str> = names.difference(&servers).copied().collect();
            let last_step = manifest.steps.last().map(|s| &s.component);
            match (candidates.as_slice(), chain.last().or(last_step)) {
                ([one], _) => one.to_string(),
                // A serve pod's app is the end of its chain; a pipeline's
                // entry is its last step.
                (_, Some(app)) => app.clone(),
                _ => {
                    let list = candidates
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>();
                    return Err(PlanError::AmbiguousEntry(list.join(", ")));
                }
            }
        }
    };
    Ok(Plan { order, entry })
}

/// `root` and every component of the pod its links reach, directly or
/// through others.
pub fn reachable(links: &[Link], root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([root.to_string()]);
    let mut todo = vec![root.to_string()];
    while let Some(node) = todo.pop() {
        for link in links.iter().filter(|l| l.from == node && l.is_local()) {
            if seen.insert(link.to.clone()) {
                todo.push(link.to.clone());
            }
        }
    }
    seen
}

/// Depth-first topological sort: servers before importers; a cycle is an
/// error that spells the cycle out.
fn topological(names: &BTreeSet<&str>, links: &[Link]) -> Result<Vec<String>, PlanError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        node: &'a str,
        links: &'a [Link],
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), PlanError> {
        match marks.get(node) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = path.iter().position(|n| *n == node).unwrap_or(0);
                let mut cycle: Vec<String> =
                    path[start..].iter().map(|n| format!("`{n}`")).collect();
                cycle.push(format!("`{node}`"));
                return Err(PlanError::Cycle(cycle.join(" → ")));
            }
            None => {}
        }
        marks.insert(node, Mark::Visiting);
        path.push(node);
        for link in links.iter().filter(|l| l.from == node) {
            visit(&link.to, links, marks, path, order)?;
        }
        path.pop();
        marks.insert(node, Mark::Done);
        order.push(node.to_string());
        Ok(())
    }
    let mut marks = BTreeMap::new();
    let mut order = Vec::new();
    for name in names {
        visit(name, links, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(components: &[&str], links: &[(&str, &str, &str)]) -> Manifest<()> {
        let mut text = String::new();
        for c in components {
            text += &format!("[components.{c}]\nfile = \"{c}.wasm\"\n");
        }
        for (from, import, to) in links {
            text += &format!("[[link]]\nfrom = \"{from}\"\nimport = \"{import}\"\nto = \"{to}\"\n");
        }
        Manifest::parse(&text, "pod.toml").unwrap()
    }

    #[test]
    fn chains_are_ordered_servers_first() {
        let m = manifest(
            &["app", "geo", "db"],
            &[("app", "a:b/geo", "geo"), ("geo", "a:b/db", "db")],
        );
        let p = plan(&m).unwrap();
        assert_eq!(p.order, ["db", "geo", "app"]);
        assert_eq!(p.entry, "app");
    }

    #[test]
    fn reachable_follows_chains_only_downstream() {
        let m = manifest(
            &["app", "geo", "db", "other"],
            &[
                ("app", "a:b/geo", "geo"),
                ("geo", "a:b/db", "db"),
                ("other", "a:b/db", "db"),
            ],
        );
        let names: Vec<String> = reachable(&m.links, "geo").into_iter().collect();
        assert_eq!(names, ["db", "geo"]);
        assert_eq!(reachable(&m.links, "app").len(), 3);
    }

    #[test]
    fn one_server_may_serve_several_importers() {
        let m = manifest(
            &["a", "b", "log"],
            &[
                ("a", "x:y/log", "log"),
                ("b", "x:y/log", "log"),
                ("a", "x:y/b", "b"),
            ],
        );
        assert_eq!(plan(&m).unwrap().entry, "a");
    }

    #[test]
    fn cycles_are_spelled_out() {
        let m = manifest(
            &["a", "b", "c"],
            &[
                ("a", "x:y/b", "b"),
                ("b", "x:y/c", "c"),
                ("c", "x:y/a", "a"),
            ],
        );
        assert_eq!(
            plan(&m).unwrap_err().to_string(),
            "the links form a cycle: `a` → `b` → `c` → `a`"
        );
    }

    #[test]
    fn bad_links_name_both_ends() {
        let m = manifest(&["app"], &[("app", "a:b/geo", "gep")]);
        assert_eq!(
            plan(&m).unwrap_err().to_string(),
            "link `app` → `gep` for `a:b/geo` names unknown component `gep` (the pod has: `app`)"
        );
        let m = manifest(
            &["app", "geo", "geo2"],
            &[("app", "a:b/geo", "geo"), ("app", "a:b/geo@0.1.0", "geo2")],
        );
        assert!(matches!(plan(&m).unwrap_err(), PlanError::Duplicate { .. }));
        let m = manifest(&["app"], &[("app", "a:b/geo", "app")]);
        assert!(matches!(plan(&m).unwrap_err(), PlanError::SelfLink(_)));
    }

    #[test]
    fn remote_links_leave_the_graph_but_not_the_checks() {
        let parse = |top: &str, links: &str| {
            let text = format!(
                "{top}[components.app]\nfile = \"app.wasm\"\n[components.geo]\nfile = \"geo.wasm\"\n{links}"
            );
            plan(&Manifest::<()>::parse(&text, "pod.toml").unwrap())
        };
        // The remote link does not make `geo` a server: `app` and `geo` both
        // serve nothing here, so the entry must be named.
        let remote = "[[link]]\nfrom = \"app\"\nimport = \"a:b/geo\"\nremote = \"tcp://h:1\"\n";
        assert!(matches!(
            parse("", remote),
            Err(PlanError::AmbiguousEntry(_))
        ));
        let p = parse("entry = \"app\"\n", remote).unwrap();
        assert_eq!(p.entry, "app");
        let both = "[[link]]\nfrom = \"app\"\nimport = \"a:b/geo\"\nto = \"geo\"\nremote = \"tcp://h:1\"\n";
        assert_eq!(
            parse("", both).unwrap_err().to_string(),
            "link `app` → `tcp://h:1` for `a:b/geo`: give `to` (a component of this pod) or `remote`, not both"
        );
        let neither = "[[link]]\nfrom = \"app\"\nimport = \"a:b/geo\"\n";
        assert!(matches!(
            parse("", neither),
            Err(PlanError::LinkTarget { .. })
        ));
        let timeout =
            "[[link]]\nfrom = \"app\"\nimport = \"a:b/geo\"\nto = \"geo\"\ntimeout = \"1s\"\n";
        assert!(matches!(
            parse("", timeout),
            Err(PlanError::LinkTarget { .. })
        ));
        let twice =
            format!("{remote}[[link]]\nfrom = \"app\"\nimport = \"a:b/geo\"\nto = \"geo\"\n");
        assert!(matches!(
            parse("", &twice),
            Err(PlanError::Duplicate { .. })
        ));
        let m = Manifest::<()>::parse(
            &format!("[components.app]\nfile = \"a.wasm\"\n{remote}"),
            "p",
        )
        .unwrap();
        assert_eq!(reachable(&m.links, "app").len(), 1);
    }

    #[test]
    fn pipeline_steps_and_scratch_are_checked() {
        let parse = |text: &str| plan(&Manifest::<()>::parse(text, "pod.toml").unwrap());
        let pod = "[components.a]\nfile = \"a.wasm\"\n[components.b]\nfile = \"b.wasm\"\n\
                   [[step]]\ncomponent = \"a\"\n[[step]]\ncomponent = \"b\"\n";
        // The entry of a pipeline is its last step.
        assert_eq!(parse(pod).unwrap().entry, "b");
        for bad in ["out", "/out/../etc"] {
            assert_eq!(
                parse(&format!("scratch = \"{bad}\"\n{pod}")).unwrap_err(),
                PlanError::BadScratch(bad.into())
            );
        }
    }

    #[test]
    fn a_serve_chain_names_components_and_ends_at_the_entry() {
        let mut m = manifest(&["app", "auth", "log"], &[]);
        m.serve = Some(crate::manifest::ServeSpec {
            chain: vec!["log".into(), "auth".into(), "app".into()],
        });
        assert_eq!(plan(&m).unwrap().entry, "app");
        m.serve = Some(crate::manifest::ServeSpec {
            chain: vec!["log".into(), "oath".into()],
        });
        assert_eq!(
            plan(&m).unwrap_err().to_string(),
            "`[serve] chain` names unknown component `oath` (the pod has: `app`, `auth`, `log`)"
        );
    }

    #[test]
    fn entry_must_be_clear() {
        let m = manifest(&["a", "b"], &[]);
        assert_eq!(
            plan(&m).unwrap_err().to_string(),
            "set `entry = \"…\"`: more than one component serves no link (`a`, `b`)"
        );
        assert_eq!(plan(&manifest(&[], &[])).unwrap_err(), PlanError::Empty);
    }
}
