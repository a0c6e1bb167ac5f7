//! A component's exported functions, with WIT signatures and docs.
//!
//! The wasmtime component type says what to call and with which value
//! types; the component's embedded WIT (decoded with `wit-parser`) adds type
//! names, and a [`DocIndex`] adds doc comments.

use crate::witfmt;
use nanopod_host::InterfaceName;
use nanopod_host::types::{is_byte_list, is_byte_stream};
use nanopod_wit_docs::DocIndex;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Type};
use wit_parser::{Resolve, WorldItem, WorldKey};

/// How the host fills a parameter from a command-line word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// `stream<u8>`: a path the host opens (or `-` for stdin), streamed.
    ByteStream,
    /// `list<u8>`: a path the host reads whole (or `-`).
    ByteList,
    /// An owned `wasi:io/streams.input-stream`: a path the host opens.
    InputStream,
    /// A `wasi:io/streams.output-stream`: a path written atomically, or
    /// stdout when omitted.
    OutputStream,
    /// Any other value: a literal or WAVE text.
    Value,
}

impl ParamKind {
    /// Whether the word given for this parameter names a file to read.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            ParamKind::ByteStream | ParamKind::ByteList | ParamKind::InputStream
        )
    }
}

/// One parameter of an exported function.
#[derive(Clone, Debug)]
pub struct ParamSpec {
    /// The WIT name, kebab-case: the flag is `--<name>`.
    pub name: String,
    /// The value type, for conversion.
    pub ty: Type,
    /// The WIT spelling of the type.
    pub wit_type: String,
    /// How the host fills it.
    pub kind: ParamKind,
}

impl ParamSpec {
    /// Whether the parameter may be omitted: `option<T>` (none), `bool`
    /// (false is not implied: a bool must be given, but as a bare flag) and
    /// `output-stream` (stdout).
    pub fn optional(&self) -> bool {
        matches!(self.ty, Type::Option(_)) || self.kind == ParamKind::OutputStream
    }
}

/// One exported function.
#[derive(Clone, Debug)]
pub struct ExportFn {
    /// The exported instance holding it (`ns:pkg/iface@ver`), if any.
    pub instance: Option<String>,
    /// The function's name.
    pub name: String,
    /// Its parameters, in order.
    pub params: Vec<ParamSpec>,
    /// Its result type, if any.
    pub result: Option<Type>,
    /// The WIT spelling of the result type.
    pub result_wit: Option<String>,
    /// Whether it is an `async func`.
    pub is_async: bool,
    /// Its doc comment, if known.
    pub docs: Option<String>,
    /// Named types (records, variants, enums, flags) in its signature.
    pub named_types: Vec<NamedType>,
}

/// A record, variant, enum or flags type, spelled out for help text.
#[derive(Clone, Debug)]
pub struct NamedType {
    /// The type's name.
    pub name: String,
    /// `record`, `variant`, `enum` or `flags`.
    pub keyword: &'static str,
    /// The type's doc comment.
    pub docs: Option<String>,
    /// Each field or case: (WIT text, doc comment).
    pub items: Vec<(String, Option<String>)>,
}

impl ExportFn {
    /// The name users type after `--invoke`: `name` for a world-level
    /// function, `instance#name` for an interface function.
    pub fn key(&self) -> String {
        match &self.instance {
            Some(i) => format!("{i}#{}", self.name),
            None => self.name.clone(),
        }
    }

    /// `name(a: u32, b: u32) -> u32` as WIT writes it.
    pub fn signature(&self) -> String {
        let params = self
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, p.wit_type))
            .collect::<Vec<_>>()
            .join(", ");
        let asyncness = if self.is_async { "async " } else { "" };
        match &self.result_wit {
            Some(r) => format!("{}: {asyncness}func({params}) -> {r}", self.name),
            None => format!("{}: {asyncness}func({params})", self.name),
        }
    }

    /// Whether this is `wasi:cli/run`'s `run`.
    pub fn is_cli_run(&self) -> bool {
        self.name == "run"
            && self
                .instance
                .as_deref()
                .is_some_and(|i| InterfaceName::parse(i).unversioned() == "wasi:cli/run")
    }
}

/// Why an export cannot be found, or the exports cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No function of that name.
    #[error("the component exports no function `{name}`; it exports: {exported}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The functions it exports.
        exported: String,
    },
    /// A name that fits several functions.
    #[error("`{name}` is ambiguous; use one of: {candidates}")]
    Ambiguous {
        /// The name asked for.
        name: String,
        /// The functions it fits.
        candidates: String,
    },
    /// No function at all.
    #[error("the component exports no functions")]
    None,
    /// Several functions, and none was chosen.
    #[error("the component exports several functions; choose one with --invoke: {0}")]
    Several(String),
    /// The component's doc comments cannot be read.
    #[error("cannot read the component's docs")]
    Docs(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// All exported functions of a component.
#[derive(Clone, Debug)]
pub struct Exports {
    /// The functions, in export order.
    pub functions: Vec<ExportFn>,
    /// Whether doc comments were available.
    pub has_docs: bool,
}

impl Exports {
    /// Reads the exports of `component` (compiled from `bytes`). Docs come
    /// from `docs` when given, else from the component's own
    /// `package-docs` section.
    pub fn read(
        engine: &Engine,
        component: &Component,
        bytes: &[u8],
        docs: Option<DocIndex>,
    ) -> Result<Self, ExportError> {
        let docs = match docs {
            Some(d) => Some(d),
            None => DocIndex::from_wasm(bytes).map_err(|e| ExportError::Docs(e.into()))?,
        };
        let wit = WitView::decode(bytes);
        let mut functions = Vec::new();
        let ty = component.component_type();
        for (name, item) in ty.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(f) => {
                    functions.push(build(None, name, &f, wit.as_ref(), docs.as_ref()));
                }
                ComponentItem::ComponentInstance(inst) => {
                    for (fname, fitem) in inst.exports(engine) {
                        if let ComponentItem::ComponentFunc(f) = fitem.ty {
                            functions.push(build(
                                Some(name),
                                fname,
                                &f,
                                wit.as_ref(),
                                docs.as_ref(),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(Exports {
            functions,
            has_docs: docs.is_some_and(|d| !d.is_empty()),
        })
    }

    /// The function `--invoke NAME` names: a full key, a bare function name
    /// that is unique, or `interface#name` with the short interface name.
    pub fn find(&self, name: &str) -> Result<&ExportFn, ExportError> {
        if let Some(f) = self.functions.iter().find(|f| f.key() == name) {
            return Ok(f);
        }
        let matches: Vec<&ExportFn> = self
            .functions
            .iter()
            .filter(|f| match name.split_once('#') {
                Some((iface, func)) => {
                    f.name == func
                        && f.instance
                            .as_deref()
                            .is_some_and(|i| InterfaceName::parse(i).short() == iface)
                }
                None => f.name == name,
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(ExportError::Unknown {
                name: name.to_string(),
                exported: self.list_keys(),
            }),
            many => Err(ExportError::Ambiguous {
                name: name.to_string(),
                candidates: many.iter().map(|f| f.key()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The function to call without `--invoke`: `wasi:cli/run` if exported,
    /// else the only exported function.
    pub fn default_function(&self) -> Result<&ExportFn, ExportError> {
        if let Some(run) = self.functions.iter().find(|f| f.is_cli_run()) {
            return Ok(run);
        }
        match self.functions.as_slice() {
            [one] => Ok(one),
            [] => Err(ExportError::None),
            _ => Err(ExportError::Several(self.list_keys())),
        }
    }

    fn list_keys(&self) -> String {
        self.functions
            .iter()
            .map(|f| format!("`{}`", f.key()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The component's decoded WIT world.
struct WitView {
    resolve: Resolve,
    world: wit_parser::WorldId,
}

impl WitView {
    fn decode(bytes: &[u8]) -> Option<Self> {
        match wit_parser::decoding::decode(bytes) {
            Ok(wit_parser::decoding::DecodedWasm::Component(resolve, world)) => {
                Some(WitView { resolve, world })
            }
            Ok(_) => None,
            Err(e) => {
                tracing::debug!("cannot decode the component's WIT: {e:#}");
                None
            }
        }
    }

    fn function(&self, instance: Option<&str>, name: &str) -> Option<&wit_parser::Function> {
        let world = &self.resolve.worlds[self.world];
        for (key, item) in &world.exports {
            match (instance, key, item) {
                (None, WorldKey::Name(n), WorldItem::Function(f)) if n == name => return Some(f),
                (Some(i), _, WorldItem::Interface { id, .. })
                    if self.resolve.name_world_key(key) == i =>
                {
                    return self.resolve.interfaces[*id].functions.get(name);
                }
                _ => {}
            }
        }
        None
    }
}

fn build(
    instance: Option<&str>,
    name: &str,
    f: &wasmtime::component::types::ComponentFunc,
    wit: Option<&WitView>,
    docs: Option<&DocIndex>,
) -> ExportFn {
    let wit_fn = wit.and_then(|w| w.function(instance, name));
    let resolve = wit.map(|w| &w.resolve);
    let params = f
        .params()
        .enumerate()
        .map(|(i, (pname, ty))| {
            let wit_ty = wit_fn
                .zip(resolve)
                .and_then(|(wf, r)| wf.params.get(i).map(|p| (r, p.ty)));
            let kind = classify(&ty, wit_ty);
            ParamSpec {
                name: pname.to_string(),
                wit_type: match wit_ty {
                    Some((r, t)) => witfmt::type_name(r, &t),
                    None => format!("{ty:?}"),
                },
                ty,
                kind,
            }
        })
        .collect();
    let result = f.results().next();
    let result_wit = match (wit_fn.zip(resolve), &result) {
        (Some((wf, r)), _) => wf.result.as_ref().map(|t| witfmt::type_name(r, t)),
        (None, Some(t)) => Some(format!("{t:?}")),
        (None, None) => None,
    };
    let doc_key = match instance {
        Some(i) => format!("{}#{name}", InterfaceName::parse(i).short()),
        None => name.to_string(),
    };
    let docs_text = docs
        .and_then(|d| d.function(&doc_key))
        .map(str::to_string)
        .or_else(|| wit_fn.and_then(|wf| wf.docs.contents.clone()));
    let named_types = match (wit_fn, resolve) {
        (Some(wf), Some(r)) => named_types(r, wf, docs),
        _ => Vec::new(),
    };
    ExportFn {
        instance: instance.map(str::to_string),
        name: name.to_string(),
        params,
        result,
        result_wit,
        is_async: f.async_(),
        docs: docs_text,
        named_types,
    }
}

fn named_types(
    resolve: &Resolve,
    f: &wit_parser::Function,
    docs: Option<&DocIndex>,
) -> Vec<NamedType> {
    let mut ids = Vec::new();
    for p in &f.params {
        witfmt::named_types(resolve, &p.ty, &mut ids);
    }
    if let Some(r) = &f.result {
        witfmt::named_types(resolve, r, &mut ids);
    }
    ids.into_iter()
        .map(|id| {
            let name = resolve.types[id].name.clone().unwrap_or_default();
            let type_docs = docs.and_then(|d| d.ty(&name));
            let (keyword, items) = witfmt::type_body(resolve, id);
            NamedType {
                docs: type_docs
                    .and_then(|t| t.docs.clone())
                    .or_else(|| resolve.types[id].docs.contents.clone()),
                items: items
                    .into_iter()
                    .map(|item| {
                        let docs = type_docs
                            .and_then(|t| t.items.get(&item.name).cloned())
                            .or(item.docs);
                        (item.shown, docs)
                    })
                    .collect(),
                name,
                keyword,
            }
        })
        .collect()
}

fn classify(ty: &Type, wit: Option<(&Resolve, wit_parser::Type)>) -> ParamKind {
    match ty {
        t if is_byte_stream(t) => ParamKind::ByteStream,
        t if is_byte_list(t) => ParamKind::ByteList,
        Type::Own(_) | Type::Borrow(_) => match wit.and_then(|(r, t)| wasi_stream_name(r, t)) {
            Some("input-stream") => ParamKind::InputStream,
            Some("output-stream") => ParamKind::OutputStream,
            _ => ParamKind::Value,
        },
        _ => ParamKind::Value,
    }
}

/// `input-stream` or `output-stream` when `ty` is a handle to that
/// `wasi:io/streams` resource.
fn wasi_stream_name(resolve: &Resolve, ty: wit_parser::Type) -> Option<&str> {
    let wit_parser::Type::Id(id) = ty else {
        return None;
    };
    let mut def = &resolve.types[id];
    // Follow `use` aliases and handles to the resource itself.
    while let wit_parser::TypeDefKind::Type(wit_parser::Type::Id(next))
    | wit_parser::TypeDefKind::Handle(wit_parser::Handle::Own(next))
    | wit_parser::TypeDefKind::Handle(wit_parser::Handle::Borrow(next)) = &def.kind
    {
        def = &resolve.types[*next];
    }
    let wit_parser::TypeOwner::Interface(iface) = def.owner else {
        return None;
    };
    let iface = &resolve.interfaces[iface];
    let pkg = iface.package.map(|p| &resolve.packages[p].name)?;
    let is_streams =
        pkg.namespace == "wasi" && pkg.name == "io" && iface.name.as_deref() == Some("streams");
    if is_streams {
        def.name.as_deref()
    } else {
        None
    }
}
