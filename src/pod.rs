//! Reading a `pod.toml` and composing a component of it with the
//! components its links reach — shared by `nanopod up` and `nanopod serve`.

use crate::flags::{CapabilityFlags, parse_duration};
use crate::load::{engine_mode, read_wasm};
use anyhow::{Context, Result};
use nanopod_host::{EngineMode, Grants};
use nanopod_pod::compose::{Member, compose};
use nanopod_pod::manifest::{Link, Manifest};
use nanopod_pod::plan::{Plan, plan, reachable};
use nanopod_pod::share::share;
use nanopod_remote::{Endpoint, RemoteLink};
use nanopod_typed::UsageError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A manifest read and checked (names, links, cycles), binaries not yet
/// read.
pub struct PodFile {
    path: PathBuf,
    /// The parsed manifest.
    pub manifest: Manifest<CapabilityFlags>,
    /// Its checked plan.
    pub plan: Plan,
}

/// One component of a pod composed with the components its links reach.
pub struct ComposedPod {
    /// The composed component.
    pub bytes: Vec<u8>,
    /// The root component's own binary (its WIT and docs).
    pub root_bytes: Vec<u8>,
    /// The root component's file, for `argv[0]`.
    pub root_file: PathBuf,
    /// The one WASI context of the composition.
    pub grants: Grants,
    /// The engine it needs: concurrent if any component uses async
    /// functions, streams or WASI 0.3.
    pub mode: EngineMode,
    /// `(component, import)` pairs wired to a deny adapter.
    pub denied: Vec<(String, String)>,
    /// Imports served by exporters on other hosts.
    pub remote: Vec<RemoteLink>,
    /// In-process links whose functions pass a `list<u8>`, with those
    /// functions (see [`nanopod_pod::compose::Composition::byte_lists`]).
    pub byte_lists: Vec<(Link, Vec<String>)>,
}

impl PodFile {
    /// Reads and checks `pod.toml` at `path`. Errors are usage errors.
    pub fn read(path: &Path) -> Result<Self> {
        let manifest = Manifest::<CapabilityFlags>::read(path)
            .map_err(|e| UsageError::new(format!("{e:#}")))?;
        let plan =
            plan(&manifest).map_err(|e| UsageError::new(format!("`{}`: {e}", path.display())))?;
        Ok(PodFile {
            path: path.to_path_buf(),
            manifest,
            plan,
        })
    }

    /// The manifest, as named on the command line.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    fn usage(&self, e: impl std::fmt::Display) -> anyhow::Error {
        UsageError::new(format!("`{}`: {e}", self.path.display())).into()
    }

    /// Composes `root` with every component its links reach, each wired to
    /// what it was granted.
    pub fn compose(&self, root: &str) -> Result<ComposedPod> {
        let base = self.path.parent().unwrap_or(Path::new("."));
        let members = reachable(&self.manifest.links, root);
        let mut binaries = BTreeMap::new();
        let mut grants = BTreeMap::new();
        for name in &members {
            let spec = &self.manifest.components[name];
            let file = base.join(&spec.file);
            let bytes = read_wasm(&file)
                .map_err(|e| UsageError::new(format!("component `{name}`: {e:#}")))?;
            if !wasmparser::Parser::is_component(&bytes) {
                return Err(UsageError::new(format!(
                    "component `{name}`: `{}` is a core module; pods link components",
                    file.display()
                ))
                .into());
            }
            if name != root && spec.grants.timeout.is_some() {
                return Err(UsageError::new(format!(
                    "component `{name}`: `timeout` bounds the whole call; set it on `{root}`"
                ))
                .into());
            }
            // The entry's `max-memory` caps every memory of the call (the
            // store's limiter); another component's caps its own memories,
            // written into its binary.
            let bytes = match spec.grants.max_memory {
                Some(max) if name != root => nanopod_pod::memcap::cap_memories(&bytes, max)
                    .map_err(|e| UsageError::new(format!("component `{name}`: {e:#}")))?,
                _ => bytes,
            };
            let g = spec
                .grants
                .clone()
                .relative_to(base)
                .grants()
                .with_context(|| format!("component `{name}`"))
                .map_err(|e| UsageError::new(format!("{e:#}")))?;
            binaries.insert(name.clone(), (file, bytes));
            grants.insert(name.clone(), g);
        }
        let shared =
            share(grants.iter().map(|(n, g)| (n.as_str(), g))).map_err(|e| self.usage(e))?;
        let parts: Vec<Member<'_>> = binaries
            .iter()
            .map(|(name, (_, bytes))| Member {
                name,
                bytes,
                granted: shared.granted[name].clone(),
            })
            .collect();
        let plan = Plan {
            order: self
                .plan
                .order
                .iter()
                .filter(|n| members.contains(*n))
                .cloned()
                .collect(),
            entry: root.to_string(),
        };
        let links: Vec<Link> = self
            .manifest
            .links
            .iter()
            .filter(|l| members.contains(&l.from))
            .cloned()
            .collect();
        let composition =
            compose(&parts, &links, &plan, &shared.capabilities).map_err(|e| self.usage(e))?;
        for (component, import) in &composition.denied {
            tracing::debug!("`{component}` was not granted `{import}`: wired to a deny adapter");
        }
        let mode = if binaries
            .values()
            .any(|(_, b)| engine_mode(b) == EngineMode::Concurrent)
        {
            EngineMode::Concurrent
        } else {
            EngineMode::Sync
        };
        // Components importing the same interface share one import of the
        // composition, so they must share its remote link too.
        let mut remote: Vec<RemoteLink> = Vec::new();
        for (import, link) in &composition.remote {
            let bound = self.remote_link(import, link, base)?;
            match remote.iter().find(|r| r.import == bound.import) {
                Some(r) if r.endpoint != bound.endpoint => {
                    return Err(self.usage(format!(
                        "link {link}: `{import}` is linked remotely twice, to {} and to {}; components of one pod share an imported interface, so give both links the same `remote`, `timeout` and `token-file`",
                        r.endpoint.url(),
                        bound.endpoint.url()
                    )));
                }
                Some(_) => {}
                None => remote.push(bound),
            }
        }
        let (root_file, root_bytes) = binaries.remove(root).expect("the root is a member");
        let mut pod_grants = shared.grants;
        pod_grants.limits = grants[root].limits;
        Ok(ComposedPod {
            bytes: composition.bytes,
            denied: composition.denied,
            root_bytes,
            root_file,
            grants: pod_grants,
            mode,
            remote,
            byte_lists: composition.byte_lists,
        })
    }

    /// The remote link `link`, serving `import` (its exact name), with its
    /// address, timeout and token read.
    fn remote_link(&self, import: &str, link: &Link, base: &Path) -> Result<RemoteLink> {
        let url = link.remote.as_deref().expect("a remote link");
        let timeout = match &link.timeout {
            None => DEFAULT_REMOTE_TIMEOUT,
            Some(t) => {
                parse_duration(t).map_err(|e| self.usage(format!("link {link}: `timeout`: {e}")))?
            }
        };
        let token = match &link.token_file {
            None => None,
            Some(file) => {
                let path = base.join(file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    self.usage(format!(
                        "link {link}: cannot read `{}`: {e}",
                        path.display()
                    ))
                })?;
                Some(text.trim().to_string())
            }
        };
        let endpoint = Endpoint::parse(url, timeout, token)
            .map_err(|e| self.usage(format!("link {link}: {e}")))?;
        Ok(RemoteLink {
            import: import.to_string(),
            endpoint,
        })
    }
}

/// How long a remote call may take when its link sets no `timeout`.
pub const DEFAULT_REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// What to tell a user about an in-process link whose `functions` pass a
/// `list<u8>`.
pub fn byte_list_hint(functions: &[String]) -> String {
    let names: Vec<String> = functions.iter().map(|f| format!("`{f}`")).collect();
    format!(
        "{} pass{} list<u8>, copied between components one byte at a time: bulk data crosses faster as stream<u8>",
        names.join(", "),
        if names.len() == 1 { "es" } else { "" }
    )
}
