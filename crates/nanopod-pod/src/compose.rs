//! Static composition: the pod's components become one component, built
//! with wac-graph, whose exports are the entry component's. Calls between
//! components are then ordinary component-model calls that wasmtime
//! compiles into fused adapters: no host round trip, no serialization.
//!
//! Imports that no link serves stay imports of the composition and reach
//! the host's WASI, except where a component's grant differs from the
//! pod's shared context (see [`crate::share`]): a 0.2 entry point of
//! directories, environment variables or outgoing HTTP is renamed to an
//! import of its own, `nanopod:viewN/…`, that the host serves with that
//! component's own grant ([`nanopod_host::Views`]); another capability
//! interface a component was not granted goes to a [`crate::deny`]
//! adapter.

use crate::deny;
use crate::manifest::Link;
use crate::plan::Plan;
use nanopod_host::{Capability, InterfaceName};
use std::collections::{BTreeMap, BTreeSet};
use wac_graph::types::{DefinedType, ItemKind, Package, PrimitiveType, Types, ValueType};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// One component of the pod, read from disk.
pub(crate) struct Member<'a> {
    /// Its name in the manifest.
    pub name: &'a str,
    /// The component binary.
    pub bytes: &'a [u8],
    /// The capabilities it was granted.
    pub granted: BTreeSet<Capability>,
}

/// The composed pod.
#[derive(Debug)]
pub(crate) struct Composition {
    /// The composed component.
    pub bytes: Vec<u8>,
    /// `(component, import)` pairs wired to a deny adapter.
    pub denied: Vec<(String, String)>,
    /// Entry points renamed for the host to serve with one component's
    /// own grant.
    pub views: Vec<ViewImport>,
    /// Remote links, with the import's exact name in the composition: the
    /// host serves these imports over the network.
    pub remote: Vec<(String, Link)>,
    /// In-process links whose functions pass a `list<u8>`, with those
    /// functions: wasmtime 48's fused adapter copies such a list one byte
    /// at a time (0.7 ns/byte; a `string` or `stream<u8>` is copied in
    /// bulk), which `inspect` points out.
    pub byte_lists: Vec<(Link, Vec<String>)>,
}

/// A component's entry point into a capability, renamed so that the host
/// serves it with the component's own grant.
#[derive(Debug)]
pub(crate) struct ViewImport {
    /// The component.
    pub member: String,
    /// Its import (`wasi:filesystem/preopens@0.2.6`).
    pub import: String,
    /// The composition's import that serves it
    /// (`nanopod:view0/preopens@0.2.6`).
    pub renamed: String,
    /// The capability.
    pub capability: Capability,
}

/// Why a pod could not be composed. Each names the component and the link.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A component binary could not be read as a component.
    #[error("component `{name}`")]
    Component {
        /// The component.
        name: String,
        /// What went wrong.
        #[source]
        source: BoxError,
    },
    /// The importer has no such import.
    #[error("link {link}: `{}` does not import `{}` (it imports: {imports})", link.from, link.import)]
    NoSuchImport {
        /// The link.
        link: Box<Link>,
        /// What the importer does import.
        imports: String,
    },
    /// The server has no such export.
    #[error("link {link}: `{}` does not export `{}` (it exports: {exports})", link.to, link.import)]
    NoSuchExport {
        /// The link.
        link: Box<Link>,
        /// What the server does export.
        exports: String,
    },
    /// The export's type is not what the import expects.
    #[error("link {link}: the types do not match")]
    TypeMismatch {
        /// The link.
        link: Box<Link>,
        /// wac's explanation.
        #[source]
        source: BoxError,
    },
    /// An import that no link serves and the host does not provide.
    #[error(
        "`{component}` imports `{import}`, but no `[[link]]` serves it and the host provides only WASI interfaces (and nanopod's filter interface); add `[[link]] from = \"{component}\" import = \"{import}\" to = \"…\"`"
    )]
    Unlinked {
        /// The importing component.
        component: String,
        /// The import.
        import: String,
    },
    /// A component holds a capability in its own measure through an entry
    /// point no view serves.
    #[error(
        "`{component}` is granted {} of its own, which a pod gives through WASI 0.2's `{entry}`, but it imports `{import}`; grant its peers the same, or run it in a pod of its own",
        capability.quoted_keys()
    )]
    NoView {
        /// The component.
        component: String,
        /// The import.
        import: String,
        /// The capability.
        capability: Capability,
        /// The entry point a view serves.
        entry: &'static str,
    },
    /// Encoding the composition failed.
    #[error("cannot compose the pod")]
    Encode(#[source] BoxError),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn encode_error(e: impl std::error::Error + Send + Sync + 'static) -> ComposeError {
    ComposeError::Encode(Box::new(e))
}

struct Registered {
    package: PackageId,
    /// The imported instances and functions: what a link or the host must
    /// provide (imported types come along with them).
    needs: Vec<String>,
    exports: Vec<String>,
    /// The kind of each import, to import it under another name.
    kinds: BTreeMap<String, ItemKind>,
    /// For each import, its functions that pass a `list<u8>`.
    byte_lists: BTreeMap<String, Vec<String>>,
}

/// Composes the pod. Remote links in `links` leave their import an import
/// of the composition, for the host to serve. `shared` holds the
/// capabilities the pod's single WASI context will carry, `narrowed`
/// those of them granted to several members in different measure. A
/// member importing one of them without the grant, or one of `narrowed`,
/// is wired to a view or a deny adapter.
pub(crate) fn compose(
    members: &[Member<'_>],
    links: &[Link],
    plan: &Plan,
    shared: &BTreeSet<Capability>,
    narrowed: &BTreeSet<Capability>,
) -> Result<Composition, ComposeError> {
    let by_name: BTreeMap<&str, &Member<'_>> = members.iter().map(|m| (m.name, m)).collect();
    let mut graph = CompositionGraph::new();
    let mut registered = BTreeMap::new();
    for m in members {
        registered.insert(
            m.name,
            register(&mut graph, &format!("pod:{}", m.name), m.bytes, m.name)?,
        );
    }

    let mut instances: BTreeMap<&str, NodeId> = BTreeMap::new();
    let mut denied = Vec::new();
    let mut views = Vec::new();
    let mut remote = Vec::new();
    let mut byte_lists = Vec::new();
    for name in &plan.order {
        let member = by_name[name.as_str()];
        let reg = &registered[name.as_str()];
        let instance = graph.instantiate(reg.package);
        let mut linked = BTreeSet::new();
        for link in links.iter().filter(|l| &l.from == name) {
            let import =
                find(&reg.needs, &link.import).ok_or_else(|| ComposeError::NoSuchImport {
                    link: Box::new(link.clone()),
                    imports: listing(&reg.needs),
                })?;
            if !link.is_local() {
                linked.insert(import.to_string());
                remote.push((import.to_string(), link.clone()));
                continue;
            }
            let server = &registered[link.to.as_str()];
            let export =
                find(&server.exports, &link.import).ok_or_else(|| ComposeError::NoSuchExport {
                    link: Box::new(link.clone()),
                    exports: listing(&server.exports),
                })?;
            let source = graph
                .alias_instance_export(instances[link.to.as_str()], export)
                .map_err(encode_error)?;
            graph
                .set_instantiation_argument(instance, import, source)
                .map_err(|e| ComposeError::TypeMismatch {
                    link: Box::new(link.clone()),
                    source: Box::new(e),
                })?;
            if let Some(functions) = reg.byte_lists.get(import) {
                byte_lists.push((link.clone(), functions.clone()));
            }
            linked.insert(import.to_string());
        }
        for import in reg.needs.iter().filter(|i| !linked.contains(*i)) {
            if !Capability::of_import(import).is_provided() {
                return Err(ComposeError::Unlinked {
                    component: name.clone(),
                    import: import.clone(),
                });
            }
            let Some(cap) = Capability::entered_by(import) else {
                continue;
            };
            let granted = member.granted.contains(&cap);
            if !shared.contains(&cap) || (granted && !narrowed.contains(&cap)) {
                continue;
            }
            if let Some(renamed) = view_name(import, cap, views.len()) {
                let kind = renamed_kind(&mut graph, reg.kinds[import], &renamed);
                let node = graph.import(renamed.clone(), kind).map_err(encode_error)?;
                graph
                    .set_instantiation_argument(instance, import, node)
                    .map_err(encode_error)?;
                views.push(ViewImport {
                    member: name.clone(),
                    import: import.clone(),
                    renamed,
                    capability: cap,
                });
                continue;
            }
            if granted {
                return Err(ComposeError::NoView {
                    component: name.clone(),
                    import: import.clone(),
                    capability: cap,
                    entry: nanopod_host::Views::entry_point(cap).unwrap_or("entry point"),
                });
            }
            let adapter =
                deny::adapter(member.bytes, import, cap).map_err(|e| ComposeError::Component {
                    name: name.clone(),
                    source: e.into(),
                })?;
            let label = format!("nanopod:deny-{}-{}", name, denied.len());
            let adapter = register(&mut graph, &label, &adapter, name)?;
            let adapter_instance = graph.instantiate(adapter.package);
            let source = graph
                .alias_instance_export(adapter_instance, import)
                .map_err(encode_error)?;
            graph
                .set_instantiation_argument(instance, import, source)
                .map_err(encode_error)?;
            denied.push((name.clone(), import.clone()));
        }
        instances.insert(name, instance);
    }

    if members.len() == 1 && denied.is_empty() && views.is_empty() {
        // Nothing to compose: the component runs as it is.
        return Ok(Composition {
            bytes: members[0].bytes.to_vec(),
            denied,
            views,
            remote,
            byte_lists,
        });
    }
    let entry = &registered[plan.entry.as_str()];
    for export in &entry.exports {
        let node = graph
            .alias_instance_export(instances[plan.entry.as_str()], export)
            .map_err(encode_error)?;
        graph.export(node, export.clone()).map_err(encode_error)?;
    }
    let bytes = graph
        .encode(EncodeOptions::default())
        .map_err(encode_error)?;
    Ok(Composition {
        bytes,
        denied,
        views,
        remote,
        byte_lists,
    })
}

fn register(
    graph: &mut CompositionGraph,
    package_name: &str,
    bytes: &[u8],
    member: &str,
) -> Result<Registered, ComposeError> {
    let error = |source: BoxError| ComposeError::Component {
        name: member.to_string(),
        source,
    };
    let package = Package::from_bytes(package_name, None, bytes.to_vec(), graph.types_mut())
        .map_err(|e| error(e.into()))?;
    let world = &graph.types()[package.ty()];
    let needs = world
        .imports
        .iter()
        .filter(|(_, kind)| matches!(kind, ItemKind::Instance(_) | ItemKind::Func(_)))
        .map(|(name, _)| name.clone())
        .collect();
    let exports = world.exports.keys().cloned().collect();
    let kinds = world
        .imports
        .iter()
        .map(|(name, kind)| (name.clone(), *kind))
        .collect();
    let byte_lists = world
        .imports
        .iter()
        .filter_map(|(name, kind)| {
            let functions = byte_list_functions(graph.types(), name, kind);
            (!functions.is_empty()).then(|| (name.clone(), functions))
        })
        .collect();
    let package = graph
        .register_package(package)
        .map_err(|e| error(Box::new(e)))?;
    Ok(Registered {
        package,
        needs,
        exports,
        kinds,
        byte_lists,
    })
}

/// The functions of the imported item `name` whose parameters or result
/// hold a `list<u8>`.
fn byte_list_functions(types: &Types, name: &str, kind: &ItemKind) -> Vec<String> {
    let passes_bytes = |f: &wac_graph::types::FuncType| {
        f.params
            .values()
            .chain(&f.result)
            .any(|t| holds_byte_list(types, t))
    };
    match kind {
        ItemKind::Instance(id) => types[*id]
            .exports
            .iter()
            .filter_map(|(f, kind)| match kind {
                ItemKind::Func(ty) if passes_bytes(&types[*ty]) => Some(f.clone()),
                _ => None,
            })
            .collect(),
        ItemKind::Func(ty) if passes_bytes(&types[*ty]) => vec![name.to_string()],
        _ => Vec::new(),
    }
}

/// Whether a value of type `ty` holds a `list<u8>` anywhere.
fn holds_byte_list(types: &Types, ty: &ValueType) -> bool {
    let ValueType::Defined(id) = ty else {
        return false;
    };
    match &types[*id] {
        DefinedType::List(ValueType::Primitive(PrimitiveType::U8)) => true,
        DefinedType::List(t)
        | DefinedType::FixedSizeList(t, _)
        | DefinedType::Option(t)
        | DefinedType::Alias(t) => holds_byte_list(types, t),
        DefinedType::Tuple(ts) => ts.iter().any(|t| holds_byte_list(types, t)),
        DefinedType::Map(k, v) => holds_byte_list(types, k) || holds_byte_list(types, v),
        DefinedType::Result { ok, err } => ok.iter().chain(err).any(|t| holds_byte_list(types, t)),
        DefinedType::Variant(v) => v
            .cases
            .values()
            .flatten()
            .any(|t| holds_byte_list(types, t)),
        DefinedType::Record(r) => r.fields.values().any(|t| holds_byte_list(types, t)),
        DefinedType::Flags(_)
        | DefinedType::Enum(_)
        | DefinedType::Stream(_)
        | DefinedType::Future(_) => false,
    }
}

/// The name under which the host serves `import`, the `n`th view, if it is
/// a WASI 0.2 entry point a view can narrow (`wasi:cli/environment@0.2.6`
/// becomes `nanopod:view3/environment@0.2.6`).
fn view_name(import: &str, capability: Capability, n: usize) -> Option<String> {
    let entry = nanopod_host::Views::entry_point(capability)?;
    let name = InterfaceName::parse(import);
    let version = name.version()?;
    (name.short() == entry && version.major == 0 && version.minor == 2)
        .then(|| format!("nanopod:view{n}/{entry}@{version}"))
}

/// `kind` as the type of an import named `renamed`: an interface keeps its
/// contents under the new name, since wac imports one interface name once
/// (two components' views of `wasi:cli/environment` would otherwise merge
/// into one import).
fn renamed_kind(graph: &mut CompositionGraph, kind: ItemKind, renamed: &str) -> ItemKind {
    let ItemKind::Instance(id) = kind else {
        return kind;
    };
    let mut interface = graph.types()[id].clone();
    interface.id = Some(renamed.to_string());
    ItemKind::Instance(graph.types_mut().add_interface(interface))
}

/// The item named `wanted` (see [`InterfaceName::matches`]).
fn find<'a>(names: &'a [String], wanted: &str) -> Option<&'a str> {
    let wanted = InterfaceName::parse(wanted);
    names
        .iter()
        .find(|n| InterfaceName::parse(n).matches(&wanted))
        .map(String::as_str)
}

/// The non-WASI names in `names`, for error messages.
fn listing(names: &[String]) -> String {
    let own: Vec<String> = names
        .iter()
        .filter(|n| !n.starts_with("wasi:"))
        .map(|n| format!("`{n}`"))
        .collect();
    if own.is_empty() {
        "nothing but WASI".into()
    } else {
        own.join(", ")
    }
}
