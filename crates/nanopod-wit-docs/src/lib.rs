//! Doc comments for WIT exports.
//!
//! Toolchains drop WIT doc comments when they build a component, so nanopod
//! carries them separately. [`embed`] writes two custom sections, both in the
//! format `wit-component` writes for WIT packages (one version byte, then
//! JSON):
//!
//! - `package-docs`, shaped for the component's own decoded WIT (its `root`
//!   world): `wit-parser`'s component decoding picks it up, so
//!   `wasm-tools component wit` shows the docs too. It covers world-level
//!   functions and types. (A `package-docs` section shaped for the source
//!   package instead would make that decoding fail.)
//! - `nanopod-docs`, the source package's docs as they are, which also
//!   covers functions and types inside exported interfaces.
//!
//! [`DocIndex`] reads the second (or WIT sources given on the command line)
//! and answers "what is the doc comment of function F / type T / field X";
//! docs from `package-docs` arrive through the decoded WIT itself.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use wit_parser::decoding::{self, DecodedWasm};
use wit_parser::{
    Docs, PackageId, PackageMetadata, Resolve, TypeDef, TypeDefKind, TypeId, WorldItem, WorldKey,
};

/// The standard section, shaped for the component's decoded `root` world.
pub const PACKAGE_DOCS: &str = PackageMetadata::SECTION_NAME;

/// nanopod's section: the source WIT package's docs.
pub const SECTION_NAME: &str = "nanopod-docs";

/// Doc comments of one WIT package, looked up by name.
///
/// Functions are keyed by bare name for world-level functions and by
/// `interface#function` (interface name without package or version) for
/// interface functions. Types are keyed by their bare name.
#[derive(Debug, Default, Clone)]
pub struct DocIndex {
    functions: BTreeMap<String, String>,
    types: BTreeMap<String, TypeDocs>,
    interfaces: BTreeMap<String, String>,
}

/// Doc comments of one named type and of its fields or cases.
#[derive(Debug, Default, Clone)]
pub struct TypeDocs {
    /// The type's own doc comment.
    pub docs: Option<String>,
    /// Doc comments of record fields, variant and enum cases, flags.
    pub items: BTreeMap<String, String>,
}

impl DocIndex {
    /// Reads the `nanopod-docs` section of a component or module, if it has one.
    pub fn from_wasm(bytes: &[u8]) -> Result<Option<Self>> {
        match find_section(bytes)? {
            Some(data) => Ok(Some(Self::from_section(data)?)),
            None => Ok(None),
        }
    }

    /// Parses the contents of a `nanopod-docs` (or WIT package's
    /// `package-docs`) section.
    pub fn from_section(data: &[u8]) -> Result<Self> {
        match data.first() {
            Some(0 | 1) => {}
            other => bail!("unsupported package-docs version {other:?}"),
        }
        let package: PackageJson =
            serde_json::from_slice(&data[1..]).context("malformed package-docs section")?;
        Ok(Self::from_package(package))
    }

    /// Reads doc comments from WIT sources: a `.wit` file or a directory
    /// (with an optional `deps/` folder), as `wit-parser` accepts them.
    pub fn from_wit_path(path: &Path) -> Result<Self> {
        Self::from_section(&section_from_wit(path)?)
    }

    /// Docs of an exported function: `name` for a world-level function, or
    /// `interface#name` for an interface function.
    pub fn function(&self, key: &str) -> Option<&str> {
        self.functions.get(key).map(String::as_str)
    }

    /// Docs of a named type and its fields or cases.
    pub fn ty(&self, name: &str) -> Option<&TypeDocs> {
        self.types.get(name)
    }

    /// Whether the index holds no docs at all.
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.types.is_empty() && self.interfaces.is_empty()
    }

    fn from_package(package: PackageJson) -> Self {
        let mut index = DocIndex::default();
        for world in package.worlds.into_values() {
            for (name, f) in world.funcs.into_iter().chain(world.func_exports) {
                if let Some(docs) = f.docs() {
                    index.functions.insert(name, docs);
                }
            }
            index.add_types(world.types);
            for (name, iface) in world.interfaces.into_iter().chain(world.interface_exports) {
                index.add_interface(&name, iface);
            }
        }
        for (name, iface) in package.interfaces {
            index.add_interface(&name, iface);
        }
        index
    }

    fn add_interface(&mut self, name: &str, iface: InterfaceJson) {
        if let Some(docs) = iface.docs {
            self.interfaces.insert(name.to_string(), docs);
        }
        for (func, meta) in iface.funcs {
            if let Some(docs) = meta.docs() {
                self.functions.insert(format!("{name}#{func}"), docs);
            }
        }
        self.add_types(iface.types);
    }

    fn add_types(&mut self, types: BTreeMap<String, TypeJson>) {
        for (name, ty) in types {
            self.types.insert(
                name,
                TypeDocs {
                    docs: ty.docs,
                    items: ty.items,
                },
            );
        }
    }
}

/// The largest WIT file read (a WIT package is text, and small).
const MAX_WIT_FILE: u64 = 16 << 20;

/// Parses the WIT at `path` (a directory, or a regular file no larger than
/// [`MAX_WIT_FILE`]) into `resolve`.
fn push_wit(
    resolve: &mut Resolve,
    path: &Path,
) -> Result<(wit_parser::PackageId, wit_parser::PackageSourceMap)> {
    let context = || format!("cannot parse WIT at `{}`", path.display());
    let meta = std::fs::metadata(path).with_context(context)?;
    if !meta.is_dir() && !meta.is_file() {
        bail!(
            "cannot read WIT at `{}`: not a regular file or directory",
            path.display()
        );
    }
    if meta.is_file() && meta.len() > MAX_WIT_FILE {
        bail!(
            "cannot read WIT at `{}`: larger than {} MiB",
            path.display(),
            MAX_WIT_FILE >> 20
        );
    }
    resolve.push_path(path).with_context(context)
}

/// Encodes the doc comments of the WIT package at `path` as the contents of
/// a `package-docs` section.
pub fn section_from_wit(path: &Path) -> Result<Vec<u8>> {
    let mut resolve = Resolve::default();
    let (package, _) = push_wit(&mut resolve, path)?;
    PackageMetadata::extract(&resolve, package)
        .encode()
        .context("cannot encode package docs")
}

/// Embeds the doc comments of the WIT at `wit_path` into the component
/// `wasm`, replacing earlier ones: the `package-docs` section (for any WIT
/// decoder) and the `nanopod-docs` section (see the module docs).
pub fn embed(wasm: &[u8], wit_path: &Path) -> Result<Vec<u8>> {
    let mut source = Resolve::default();
    let (package, _) = push_wit(&mut source, wit_path)?;
    let own = PackageMetadata::extract(&source, package).encode()?;
    let bare = replace_section(
        &replace_section(wasm, SECTION_NAME, None)?,
        PACKAGE_DOCS,
        None,
    )?;
    let with_own = replace_section(&bare, SECTION_NAME, Some(&own))?;
    match root_docs(&bare, &source, package)? {
        Some(root) => replace_section(&with_own, PACKAGE_DOCS, Some(&root)),
        None => Ok(with_own),
    }
}

/// The `package-docs` section for a component's decoded `root` world, with
/// docs copied from `source` by name. `None` for a core module.
fn root_docs(component: &[u8], source: &Resolve, package: PackageId) -> Result<Option<Vec<u8>>> {
    let Ok(DecodedWasm::Component(mut resolve, world)) = decoding::decode(component) else {
        return Ok(None);
    };
    let src_items: Vec<&WorldItem> = source.packages[package]
        .worlds
        .values()
        .flat_map(|w| {
            source.worlds[*w]
                .exports
                .values()
                .chain(source.worlds[*w].imports.values())
        })
        .collect();
    let src_types: BTreeMap<&str, TypeId> = source
        .types
        .iter()
        .filter_map(|(id, t)| Some((t.name.as_deref()?, id)))
        .collect();
    let keys: Vec<WorldKey> = resolve.worlds[world].exports.keys().cloned().collect();
    for key in keys {
        let WorldKey::Name(name) = &key else { continue };
        let docs = src_items.iter().find_map(|item| match item {
            WorldItem::Function(f) if &f.name == name => Some(f.docs.clone()),
            _ => None,
        });
        if let (Some(docs), Some(WorldItem::Function(f))) =
            (docs, resolve.worlds[world].exports.get_mut(&key))
        {
            f.docs = docs;
        }
    }
    let world_types: Vec<TypeId> = resolve.worlds[world]
        .exports
        .values()
        .chain(resolve.worlds[world].imports.values())
        .filter_map(|item| match item {
            WorldItem::Type { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    for id in world_types {
        let Some(name) = resolve.types[id].name.clone() else {
            continue;
        };
        if let Some(src) = src_types.get(name.as_str()) {
            copy_type_docs(&source.types[*src], &mut resolve.types[id]);
        }
    }
    let root = match resolve.worlds[world].package {
        Some(p) => p,
        None => bail!("decoded world has no package"),
    };
    Ok(Some(PackageMetadata::extract(&resolve, root).encode()?))
}

fn copy_type_docs(src: &TypeDef, dst: &mut TypeDef) {
    dst.docs = src.docs.clone();
    fn copy<A, B>(
        src: &[A],
        dst: &mut [B],
        sname: impl Fn(&A) -> (&str, &Docs),
        dname: impl Fn(&mut B) -> (&str, &mut Docs),
    ) {
        for d in dst.iter_mut() {
            let (name, docs) = dname(d);
            if let Some(s) = src.iter().find(|s| sname(s).0 == name) {
                *docs = sname(s).1.clone();
            }
        }
    }
    match (&src.kind, &mut dst.kind) {
        (TypeDefKind::Record(a), TypeDefKind::Record(b)) => copy(
            &a.fields,
            &mut b.fields,
            |f| (&f.name, &f.docs),
            |f| (&f.name, &mut f.docs),
        ),
        (TypeDefKind::Variant(a), TypeDefKind::Variant(b)) => copy(
            &a.cases,
            &mut b.cases,
            |f| (&f.name, &f.docs),
            |f| (&f.name, &mut f.docs),
        ),
        (TypeDefKind::Enum(a), TypeDefKind::Enum(b)) => copy(
            &a.cases,
            &mut b.cases,
            |f| (&f.name, &f.docs),
            |f| (&f.name, &mut f.docs),
        ),
        (TypeDefKind::Flags(a), TypeDefKind::Flags(b)) => copy(
            &a.flags,
            &mut b.flags,
            |f| (&f.name, &f.docs),
            |f| (&f.name, &mut f.docs),
        ),
        _ => {}
    }
}

/// Returns `wasm` with its top-level custom section `name` removed, and
/// `contents` appended under that name when given. Works for components and
/// modules; every other section is copied as it is.
pub fn replace_section(wasm: &[u8], name: &str, contents: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut sections: Vec<wasm_encoder::RawSection<'_>> = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.context("not a valid WebAssembly binary")?;
        let top = depth == 0;
        match &payload {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !top {
            continue;
        }
        if let wasmparser::Payload::CustomSection(c) = &payload
            && c.name() == name
        {
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            sections.push(wasm_encoder::RawSection {
                id,
                data: &wasm[range],
            });
        }
    }
    // The preamble (magic and version, of a module or a component) is kept
    // as it is; each section is written by wasm-encoder.
    use wasm_encoder::Section;
    let mut out = wasm[..8].to_vec();
    for section in &sections {
        section.append_to(&mut out);
    }
    if let Some(data) = contents {
        wasm_encoder::CustomSection {
            name: name.into(),
            data: data.into(),
        }
        .append_to(&mut out);
    }
    Ok(out)
}

fn find_section(wasm: &[u8]) -> Result<Option<&[u8]>> {
    custom_section(wasm, SECTION_NAME)
}

/// The contents of the top-level custom section `name`, if present. (A
/// general helper: nanopod's other markers, such as snapshots, use it too.)
pub fn custom_section<'a>(wasm: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.context("not a valid WebAssembly binary")? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::CustomSection(c) if depth == 0 && c.name() == name => {
                return Ok(Some(c.data()));
            }
            _ => {}
        }
    }
    Ok(None)
}

#[derive(Deserialize, Default)]
struct PackageJson {
    #[serde(default)]
    worlds: BTreeMap<String, WorldJson>,
    #[serde(default)]
    interfaces: BTreeMap<String, InterfaceJson>,
}

#[derive(Deserialize, Default)]
struct WorldJson {
    #[serde(default)]
    types: BTreeMap<String, TypeJson>,
    #[serde(default)]
    funcs: BTreeMap<String, FunctionJson>,
    #[serde(default)]
    func_exports: BTreeMap<String, FunctionJson>,
    #[serde(default)]
    interfaces: BTreeMap<String, InterfaceJson>,
    #[serde(default)]
    interface_exports: BTreeMap<String, InterfaceJson>,
}

#[derive(Deserialize, Default)]
struct InterfaceJson {
    #[serde(default)]
    docs: Option<String>,
    #[serde(default)]
    funcs: BTreeMap<String, FunctionJson>,
    #[serde(default)]
    types: BTreeMap<String, TypeJson>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FunctionJson {
    JustDocs(Option<String>),
    WithStability {
        #[serde(default)]
        docs: Option<String>,
    },
}

impl FunctionJson {
    fn docs(self) -> Option<String> {
        match self {
            FunctionJson::JustDocs(d) | FunctionJson::WithStability { docs: d } => d,
        }
    }
}

#[derive(Deserialize, Default)]
struct TypeJson {
    #[serde(default)]
    docs: Option<String>,
    #[serde(default)]
    items: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIT: &str = r#"
        /// The package.
        package test:docs@0.1.0;
        interface counting {
            /// A count.
            record counts {
                /// Lines.
                lines: u64,
            }
            /// Count things.
            count: func() -> counts;
        }
        world tool {
            /// Do the thing.
            export run-it: func(x: u32);
            export counting;
        }
    "#;

    fn section() -> Vec<u8> {
        let dir = std::env::temp_dir().join(format!(
            "wit-docs-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.wit");
        std::fs::write(&file, WIT).unwrap();
        let s = section_from_wit(&file).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        s
    }

    #[test]
    fn indexes_functions_types_and_fields() {
        let index = DocIndex::from_section(&section()).unwrap();
        assert_eq!(index.function("run-it"), Some("Do the thing."));
        assert_eq!(index.function("counting#count"), Some("Count things."));
        let counts = index.ty("counts").unwrap();
        assert_eq!(counts.docs.as_deref(), Some("A count."));
        assert_eq!(counts.items["lines"], "Lines.");
    }

    #[test]
    fn embed_then_find_round_trips_and_replaces() {
        // The smallest valid module: magic + version.
        let module = b"\0asm\x01\0\0\0".to_vec();
        let once = replace_section(&module, SECTION_NAME, Some(&section())).unwrap();
        let twice = replace_section(&once, SECTION_NAME, Some(&section())).unwrap();
        assert_eq!(once, twice, "embedding again replaces the old section");
        let index = DocIndex::from_wasm(&twice).unwrap().unwrap();
        assert_eq!(index.function("run-it"), Some("Do the thing."));
        assert!(DocIndex::from_wasm(&module).unwrap().is_none());
    }

    #[test]
    fn a_components_sections_and_nested_modules_are_kept_as_they_are() {
        let component = wat::parse_str(
            r#"(component
                 (core module $m (@custom "inner" "nested"))
                 (@custom "other" "kept"))"#,
        )
        .unwrap();
        let out = replace_section(&component, SECTION_NAME, Some(&section())).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        assert_eq!(custom_section(&out, "other").unwrap(), Some(&b"kept"[..]));
        // Only top-level sections are found; the nested module's is kept.
        assert_eq!(custom_section(&out, "inner").unwrap(), None);
        assert!(out.windows(6).any(|w| w == b"nested"));
        let removed = replace_section(&out, "other", None).unwrap();
        assert_eq!(custom_section(&removed, "other").unwrap(), None);
        assert!(DocIndex::from_wasm(&removed).unwrap().is_some());
    }

    #[test]
    fn rejects_garbage() {
        assert!(DocIndex::from_section(b"\x07{}").is_err());
        assert!(DocIndex::from_section(b"\x01not json").is_err());
        assert!(DocIndex::from_wasm(b"not wasm").is_err());
    }
}
