//! The pod pipeline's entry point: [`Pod::open`] reads and checks a
//! manifest, [`Pod::compose`] composes one of its components with what its
//! links reach (reading the binaries, capping memories, building each
//! component's grants, sharing one WASI context, composing, choosing the
//! engine and binding remote links), and [`ComposedPod::load`] compiles the
//! result with its remote imports bound.

use crate::compose::{ComposeError, Member, compose};
use crate::grant::GrantSpec;
use crate::lock::{Locked, PodLock, lock_path};
use crate::manifest::{Link, Manifest, ManifestError, Variable};
use crate::memcap::{MemCapError, cap_memories};
use crate::plan::{Plan, PlanError, plan, reachable};
use crate::share::{ShareError, share};
use nanopod_host::binary::{BinaryError, compile, read_wasm};
use nanopod_host::{EngineMode, Engines, Grants, Loaded, StoreUrl, Views};
use nanopod_remote::transport::read_token;
use nanopod_remote::{Endpoint, EndpointError, LinkError, RemoteImports, RemoteLink, TokenError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a pod cannot run. Each names the manifest or the component.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    /// The manifest cannot be read or parsed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Its names and links do not make a pod.
    #[error("`{path}`")]
    Plan {
        /// The manifest.
        path: String,
        /// What is wrong.
        #[source]
        source: PlanError,
    },
    /// A component's binary cannot be used.
    #[error("component `{component}`")]
    Binary {
        /// The component.
        component: String,
        /// Why.
        #[source]
        source: BinaryError,
    },
    /// A component's `oci://` reference could not be pulled.
    #[error("component `{component}`")]
    Registry {
        /// The component.
        component: String,
        /// Why.
        #[source]
        source: nanopod_oci::OciError,
    },
    /// The pod's lock cannot be read or written.
    #[error("`{}`: {reason}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A core module where pods need components.
    #[error("component `{component}`: `{}` is a core module; pods link components", file.display())]
    CoreModule {
        /// The component.
        component: String,
        /// Its file.
        file: PathBuf,
    },
    /// A `timeout` on a component that is not the entry of the call.
    #[error("component `{component}`: `timeout` bounds the whole call; set it on `{root}`")]
    Timeout {
        /// The component.
        component: String,
        /// The entry of the call.
        root: String,
    },
    /// A component's `max-memory` cannot be applied.
    #[error("component `{component}`")]
    MemCap {
        /// The component.
        component: String,
        /// Why.
        #[source]
        source: MemCapError,
    },
    /// A component's grants are not valid.
    #[error("component `{component}`")]
    Grants {
        /// The component.
        component: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Two components granted one capability differently.
    #[error("`{path}`")]
    Share {
        /// The manifest.
        path: String,
        /// Which.
        #[source]
        source: ShareError,
    },
    /// The components do not compose.
    #[error("`{path}`")]
    Compose {
        /// The manifest.
        path: String,
        /// Why.
        #[source]
        source: ComposeError,
    },
    /// A remote link cannot be set up.
    #[error("`{path}`: link {link}")]
    RemoteLink {
        /// The manifest.
        path: String,
        /// The link.
        link: Box<Link>,
        /// Why.
        #[source]
        source: RemoteLinkError,
    },
    /// A remote link does not fit the component that imports it.
    #[error("`{path}`")]
    RemoteImports {
        /// The manifest.
        path: String,
        /// Why.
        #[source]
        source: LinkError,
    },
    /// The composition does not compile.
    #[error(transparent)]
    Compile(BinaryError),
    /// A chain member's settings do not hold.
    #[error("component `{component}`: {problem}")]
    Setting {
        /// The component.
        component: String,
        /// What is wrong.
        problem: String,
    },
    /// A configuration file cannot be read.
    #[error("component `{component}`: cannot read `{}`", path.display())]
    ConfigFile {
        /// The component.
        component: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A `[keyvalue.NAME]` table whose `url` nanopod cannot use.
    #[error("[keyvalue.{name}]: {reason}")]
    Keyvalue {
        /// The store's name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// A `[serve] chain` member as its manifest table describes it, before
/// anything is compiled: what it is becomes clear from its binary.
pub struct ChainMember {
    /// Its name.
    pub name: String,
    /// Its binary.
    pub file: PathBuf,
    /// What it alone was granted.
    pub grants: Grants,
    /// How many requests one instance may take (`reuse`), if set.
    pub reuse: Option<u32>,
    /// Its proxy-wasm settings, if any was given.
    pub filter: Option<FilterSettings>,
}

/// A proxy-wasm filter's settings.
#[derive(Debug, Clone, Default)]
pub struct FilterSettings {
    /// The plugin configuration.
    pub config: Vec<u8>,
    /// The VM configuration.
    pub vm_config: Vec<u8>,
    /// The root id.
    pub root_id: String,
    /// The store its shared data lives in, if not in the process.
    pub shared_data: Option<StoreUrl>,
}

/// Why a remote link cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum RemoteLinkError {
    /// Its URL.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Its token file.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Two components share an import linked to two exporters.
    #[error(
        "`{import}` is linked remotely twice, to {first} and to {second}; components of one pod share an imported interface, so give both links the same `remote`, `timeout` and `token-file`"
    )]
    Twice {
        /// The import.
        import: String,
        /// One exporter.
        first: String,
        /// The other.
        second: String,
    },
}

/// A manifest read and checked (names, links, cycles), binaries not yet
/// read.
pub struct Pod<G> {
    path: PathBuf,
    /// The parsed manifest, each `oci://` component's `file` replaced by
    /// its layer in the local cache.
    pub manifest: Manifest<G>,
    /// Its checked plan.
    pub plan: Plan,
    /// What its `oci://` components resolved to, as a lock would pin it.
    pub resolved: PodLock,
}

/// One component of a pod composed with the components its links reach.
pub struct ComposedPod {
    /// The composed component.
    pub bytes: Vec<u8>,
    /// The engine it needs: concurrent if any component uses async
    /// functions, streams or WASI 0.3.
    pub mode: EngineMode,
    /// Imports served by exporters on other hosts.
    pub remote: Vec<RemoteLink>,
    /// What it is made of.
    pub info: PodInfo,
}

/// What a composed pod is made of.
pub struct PodInfo {
    /// The root component's name.
    pub root: String,
    /// The root component's own binary (its WIT and docs).
    pub root_bytes: Vec<u8>,
    /// The root component's file, for `argv[0]`.
    pub root_file: PathBuf,
    /// The one WASI context of the composition, with the root's limits.
    pub grants: Grants,
    /// `(component, import)` pairs wired to a deny adapter.
    pub denied: Vec<(String, String)>,
    /// The views through which components reach their own grants, for
    /// the composition's linker.
    pub views: Views,
    /// `(component, import)` pairs served by a view.
    pub viewed: Vec<(String, String)>,
    /// In-process links whose functions pass a `list<u8>`, with those
    /// functions (see `crate::compose::Composition::byte_lists`).
    pub byte_lists: Vec<(Link, Vec<String>)>,
    /// The manifest, as named.
    pub origin: String,
}

/// A composed pod compiled, its remote imports bound.
pub struct LoadedPod {
    /// The compiled composition.
    pub loaded: Loaded,
    /// Its remote imports, for its linker.
    pub remote: RemoteImports,
    /// What it is made of.
    pub info: PodInfo,
}

impl<G: GrantSpec> Pod<G> {
    /// Reads and checks `pod.toml` at `path`.
    pub fn open(path: &Path) -> Result<Self, PodError> {
        let mut manifest = Manifest::<G>::read(path)?;
        let plan = plan(&manifest).map_err(|source| PodError::Plan {
            path: path.display().to_string(),
            source,
        })?;
        let resolved = resolve_registry_components(&mut manifest, path)?;
        Ok(Pod {
            path: path.to_path_buf(),
            manifest,
            plan,
            resolved,
        })
    }

    /// Writes what the pod's `oci://` components resolved to as the lock
    /// beside its manifest; returns the lock's path.
    pub fn write_lock(&self) -> Result<PathBuf, PodError> {
        self.resolved
            .write(&self.path)
            .map_err(|source| PodError::Lock {
                path: lock_path(&self.path),
                reason: format!("{source:#}"),
            })
    }

    /// The manifest, as named when opened.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }

    /// The directory relative paths in the manifest start from.
    fn base(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The members of `[serve] chain`, outermost first: the entry alone
    /// when there is no chain.
    pub fn serve_chain(&self) -> Vec<String> {
        match &self.manifest.serve {
            Some(s) if !s.chain.is_empty() => s.chain.clone(),
            _ => vec![self.plan.entry.clone()],
        }
    }

    /// The `[serve] chain` member `name`: its file, grants and settings,
    /// configuration files read.
    pub fn chain_member(&self, name: &str) -> Result<ChainMember, PodError> {
        let spec = &self.manifest.components[name];
        let base = self.base();
        let setting = |problem: &str| PodError::Setting {
            component: name.to_string(),
            problem: problem.to_string(),
        };
        let text = |inline: &Option<String>, file: &Option<PathBuf>, key: &str| match (inline, file)
        {
            (Some(_), Some(_)) => Err(setting(&format!("give `{key}` or `{key}-file`, not both"))),
            (Some(t), None) => Ok(Some(t.clone().into_bytes())),
            (None, Some(f)) => {
                let path = base.join(f);
                std::fs::read(&path)
                    .map(Some)
                    .map_err(|source| PodError::ConfigFile {
                        component: name.to_string(),
                        path,
                        source,
                    })
            }
            (None, None) => Ok(None),
        };
        let config = text(&spec.config, &spec.config_file, "config")?;
        let vm_config = text(&spec.vm_config, &spec.vm_config_file, "vm-config")?;
        if spec.reuse == Some(0) {
            return Err(setting("`reuse` must be at least 1"));
        }
        let grants = self.grants_of(name)?;
        let shared_data = match &spec.shared_data {
            None => None,
            Some(store) => Some(grants.keyvalue_url(store).cloned().ok_or_else(|| {
                setting(&format!(
                    "`shared-data = \"{store}\"` names a store its grants do not: add `keyvalue = [\"{store}\"]` to its grants"
                ))
            })?),
        };
        let filter = (config.is_some()
            || vm_config.is_some()
            || spec.root_id.is_some()
            || shared_data.is_some())
        .then(|| FilterSettings {
            config: config.unwrap_or_default(),
            vm_config: vm_config.unwrap_or_default(),
            root_id: spec.root_id.clone().unwrap_or_default(),
            shared_data,
        });
        Ok(ChainMember {
            name: name.to_string(),
            file: base.join(&spec.file),
            grants,
            reuse: spec.reuse,
            filter,
        })
    }

    /// What component `name` was granted: its `grants` table, its
    /// `variables` (secrets read from their files now), and the stores of
    /// the pod's `[keyvalue]` tables its `keyvalue` grant names.
    fn grants_of(&self, name: &str) -> Result<Grants, PodError> {
        let base = self.base();
        let spec = &self.manifest.components[name];
        let mut grants = spec.grants.grants(base).map_err(|e| PodError::Grants {
            component: name.to_string(),
            source: Box::new(e),
        })?;
        for (key, variable) in &spec.variables {
            let value = match variable {
                Variable::Value(v) => v.clone(),
                Variable::File { file } => {
                    let path = base.join(file);
                    let text = nanopod_host::capability::config::read_bounded(&path).map_err(
                        |source| PodError::ConfigFile {
                            component: name.to_string(),
                            path,
                            source,
                        },
                    )?;
                    let text = text.strip_suffix('\n').unwrap_or(&text);
                    text.strip_suffix('\r').unwrap_or(text).to_string()
                }
            };
            grants.config_value(key.as_str(), value);
        }
        for name in grants.keyvalue_names() {
            if let Some(store) = self.manifest.keyvalue.get(&name) {
                let url =
                    StoreUrl::parse(&store.url, base).map_err(|reason| PodError::Keyvalue {
                        name: name.clone(),
                        reason,
                    })?;
                grants.keyvalue_store(name, url);
            }
        }
        Ok(grants)
    }

    /// Composes `root` with every component its links reach, each wired to
    /// what it was granted.
    pub fn compose(&self, root: &str) -> Result<ComposedPod, PodError> {
        let base = self.base();
        let members = reachable(&self.manifest.links, root);
        let mut binaries = BTreeMap::new();
        let mut grants = BTreeMap::new();
        for name in &members {
            let spec = &self.manifest.components[name];
            let file = base.join(&spec.file);
            let bytes = read_wasm(&file).map_err(|source| PodError::Binary {
                component: name.clone(),
                source,
            })?;
            if !wasmparser::Parser::is_component(&bytes) {
                return Err(PodError::CoreModule {
                    component: name.clone(),
                    file,
                });
            }
            let g = self.grants_of(name)?;
            if name != root && g.limits.timeout.is_some() {
                return Err(PodError::Timeout {
                    component: name.clone(),
                    root: root.to_string(),
                });
            }
            // The entry's `max-memory` caps every memory of the call (the
            // store's limiter); another component's caps its own memories,
            // written into its binary.
            let bytes = match g.limits.max_memory {
                Some(max) if name != root => {
                    cap_memories(&bytes, max).map_err(|source| PodError::MemCap {
                        component: name.clone(),
                        source,
                    })?
                }
                _ => bytes,
            };
            binaries.insert(name.clone(), (file, bytes));
            grants.insert(name.clone(), g);
        }
        let shared = share(grants.iter().map(|(n, g)| (n.as_str(), g))).map_err(|source| {
            PodError::Share {
                path: self.display(),
                source,
            }
        })?;
        let parts: Vec<Member<'_>> = binaries
            .iter()
            .map(|(name, (_, bytes))| Member {
                name,
                bytes,
                granted: shared.granted[name].clone(),
            })
            .collect();
        let plan = self.plan.restricted_to(&members, root);
        let links: Vec<Link> = self
            .manifest
            .links
            .iter()
            .filter(|l| members.contains(&l.from))
            .cloned()
            .collect();
        let composition = compose(
            &parts,
            &links,
            &plan,
            &shared.capabilities,
            &shared.narrowed,
        )
        .map_err(|source| PodError::Compose {
            path: self.display(),
            source,
        })?;
        for (component, import) in &composition.denied {
            tracing::debug!("`{component}` was not granted `{import}`: wired to a deny adapter");
        }
        let mut views = Views::default();
        for v in &composition.views {
            tracing::debug!(
                "`{}` reaches `{}` through a view of its own grant",
                v.member,
                v.import
            );
            views
                .narrow(&v.renamed, v.capability, &grants[&v.member], &shared.grants)
                .expect("compose renames only entry points a view narrows");
        }
        let mode = EngineMode::for_all(binaries.values().map(|(_, b)| EngineMode::needed_by(b)));
        let remote = self.remote_links(&composition.remote)?;
        let (root_file, root_bytes) = binaries.remove(root).expect("the root is a member");
        let mut pod_grants = shared.grants;
        pod_grants.limits = grants[root].limits;
        Ok(ComposedPod {
            bytes: composition.bytes,
            mode,
            remote,
            info: PodInfo {
                root: root.to_string(),
                root_bytes,
                root_file,
                grants: pod_grants,
                denied: composition.denied,
                views,
                viewed: composition
                    .views
                    .into_iter()
                    .map(|v| (v.member, v.import))
                    .collect(),
                byte_lists: composition.byte_lists,
                origin: self.display(),
            },
        })
    }

    /// The remote links of a composition, one per import: components
    /// importing the same interface share one import of the composition,
    /// so they must share its remote link too.
    fn remote_links(&self, links: &[(String, Link)]) -> Result<Vec<RemoteLink>, PodError> {
        let mut remote: Vec<RemoteLink> = Vec::new();
        for (import, link) in links {
            let failed = |source: RemoteLinkError| PodError::RemoteLink {
                path: self.display(),
                link: Box::new(link.clone()),
                source,
            };
            let bound = self.remote_link(import, link).map_err(failed)?;
            match remote.iter().find(|r| r.import == bound.import) {
                Some(r) if r.endpoint != bound.endpoint => {
                    return Err(failed(RemoteLinkError::Twice {
                        import: import.clone(),
                        first: r.endpoint.url(),
                        second: bound.endpoint.url(),
                    }));
                }
                Some(_) => {}
                None => remote.push(bound),
            }
        }
        Ok(remote)
    }

    /// The remote link `link`, serving `import` (its exact name), with its
    /// address and token read.
    fn remote_link(&self, import: &str, link: &Link) -> Result<RemoteLink, RemoteLinkError> {
        let url = link.remote.as_deref().expect("a remote link");
        let token = match &link.token_file {
            None => None,
            Some(file) => Some(read_token(&self.base().join(file))?),
        };
        let endpoint = Endpoint::parse(url, link.remote_timeout(), token)?;
        Ok(RemoteLink {
            import: import.to_string(),
            endpoint,
        })
    }
}

impl ComposedPod {
    /// Compiles the composition (through the cache) and binds its remote
    /// imports.
    pub fn load(self, engines: &Engines) -> Result<LoadedPod, PodError> {
        let origin = self.info.origin.clone();
        let loaded = compile(engines, self.bytes, self.mode, &origin).map_err(PodError::Compile)?;
        let component = loaded.component("a pod").map_err(PodError::Compile)?;
        let remote =
            RemoteImports::bind(&loaded.engine, component, &self.remote).map_err(|source| {
                PodError::RemoteImports {
                    path: origin.clone(),
                    source,
                }
            })?;
        for (import, url) in remote.describe() {
            tracing::info!("`{import}` is served remotely by {url}");
        }
        Ok(LoadedPod {
            loaded,
            remote,
            info: self.info,
        })
    }
}

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

/// Replaces each `oci://` component `file` by its layer in the local
/// cache (pulled when missing), pinned by the lock beside the manifest
/// while the lock names the same reference; returns what each resolved
/// to.
fn resolve_registry_components<G>(
    manifest: &mut Manifest<G>,
    path: &Path,
) -> Result<PodLock, PodError> {
    let lock = PodLock::beside(path).map_err(|reason| PodError::Lock {
        path: lock_path(path),
        reason,
    })?;
    let mut resolved = PodLock::default();
    for (name, spec) in &mut manifest.components {
        let Some(file) = spec.file.to_str().filter(|f| nanopod_oci::is_oci(f)) else {
            continue;
        };
        let file = file.to_string();
        let wanted = lock
            .as_ref()
            .and_then(|l| l.pinned(name, &file))
            .unwrap_or(&file);
        let registry = |source| PodError::Registry {
            component: name.clone(),
            source,
        };
        let reference = nanopod_oci::OciRef::parse(wanted).map_err(registry)?;
        let pulled = nanopod_oci::blocking(|r| async move { r.fetch(&reference).await })
            .map_err(registry)?;
        resolved.components.insert(
            name.clone(),
            Locked {
                file,
                pinned: pulled.pinned.to_string(),
            },
        );
        spec.file = pulled.path;
    }
    Ok(resolved)
}
