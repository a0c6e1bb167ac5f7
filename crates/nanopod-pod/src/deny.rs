//! Deny adapters: small generated components that stand in for a WASI
//! capability interface a component was not granted.
//!
//! A statically composed pod runs on one WASI context, so it holds what any
//! of its components was granted. A component that was not granted a
//! capability must not reach it through that context: its import of the
//! capability's interface is wired to a deny adapter instead of the host.
//! The adapter answers as an ungranted `nanopod run` would where that is
//! expressible (no preopened directories, an empty environment) and traps
//! otherwise (an outgoing HTTP request).

use anyhow::{Context, Result, bail};
use nanopod_host::capability::{Capability, Denial};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{
    Function, LiftLowerAbi, ManglingAndAbi, Resolve, Type, TypeDefKind, WasmExport, WasmExportKind,
    World, WorldItem,
};

/// Builds a deny adapter for `import`, the entry point of `capability` that
/// `component` (a component binary) imports: a component exporting that
/// interface, with the same types, that grants nothing, in the way the
/// capability table says ([`Denial`]).
pub(crate) fn adapter(component: &[u8], import: &str, capability: Capability) -> Result<Vec<u8>> {
    let DecodedWasm::Component(mut resolve, world) =
        decode(component).context("cannot read the component's WIT")?
    else {
        bail!("not a component");
    };
    let importer = &resolve.worlds[world];
    let Some((key, item)) = importer
        .imports
        .iter()
        .find(|(k, _)| resolve.name_world_key(k) == import)
    else {
        bail!("the component does not import `{import}`");
    };
    let WorldItem::Interface { id, .. } = item else {
        bail!("`{import}` is not an interface");
    };
    let (key, item, iface) = (key.clone(), item.clone(), *id);
    // The adapter imports what the interface's types need (wit-component
    // keeps only what is used) and exports the interface.
    let deny = World {
        name: "nanopod-deny".into(),
        imports: importer
            .imports
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        exports: [(key.clone(), item)].into_iter().collect(),
        package: importer.package,
        docs: Default::default(),
        stability: Default::default(),
        includes: Vec::new(),
        span: Default::default(),
    };
    let deny = resolve.worlds.alloc(deny);
    if let Some(pkg) = resolve.worlds[deny].package {
        resolve.packages[pkg]
            .worlds
            .insert("nanopod-deny".into(), deny);
    }

    let mangling = ManglingAndAbi::Legacy(LiftLowerAbi::Sync);
    let functions: Vec<&Function> = resolve.interfaces[iface].functions.values().collect();
    // Empty answers need every function to be one whose zeroed result
    // means "nothing"; a capability whose interface grew another kind of
    // function traps instead.
    let empty = capability.spec().denial == Denial::EmptyAnswers
        && functions.iter().all(|f| answers_empty(&resolve, f));
    let mut module = if empty {
        empty_answers(&resolve, mangling, &key, &functions)?
    } else {
        wit_component::dummy_module(&resolve, deny, mangling)
    };
    embed_component_metadata(&mut module, &resolve, deny, StringEncoding::UTF8)?;
    ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
        .with_context(|| format!("cannot build the deny adapter for `{import}`"))
}

/// Whether a zero-filled result means "nothing": a function without
/// parameters returning a list, a string or an option (all returned
/// through memory in the canonical ABI).
fn answers_empty(resolve: &Resolve, f: &Function) -> bool {
    fn empty(resolve: &Resolve, ty: &Type) -> bool {
        match ty {
            Type::String => true,
            Type::Id(id) => match &resolve.types[*id].kind {
                TypeDefKind::List(_) | TypeDefKind::Option(_) => true,
                TypeDefKind::Type(inner) => empty(resolve, inner),
                _ => false,
            },
            _ => false,
        }
    }
    f.params.is_empty()
        && !f.kind.is_async()
        && f.result.as_ref().is_some_and(|t| empty(resolve, t))
}

/// A core module whose every function returns a pointer to zeroed memory:
/// an empty list, an empty string, or `none`.
fn empty_answers(
    resolve: &Resolve,
    mangling: ManglingAndAbi,
    key: &wit_parser::WorldKey,
    functions: &[&Function],
) -> Result<Vec<u8>> {
    let mut wat = format!(
        "(module (memory (export {:?}) 1)\n",
        resolve.wasm_export_name(mangling, WasmExport::Memory)
    );
    for func in functions {
        let name = resolve.wasm_export_name(
            mangling,
            WasmExport::Func {
                interface: Some(key),
                func,
                kind: WasmExportKind::Normal,
            },
        );
        wat.push_str(&format!(
            "  (func (export {name:?}) (result i32) i32.const 0)\n"
        ));
    }
    wat.push(')');
    Ok(wat::parse_str(&wat)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The import of `component` whose name starts with `prefix`.
    fn import_named(component: &[u8], prefix: &str) -> String {
        let DecodedWasm::Component(resolve, world) = decode(component).unwrap() else {
            panic!("not a component");
        };
        resolve.worlds[world]
            .imports
            .keys()
            .map(|k| resolve.name_world_key(k))
            .find(|name| name.starts_with(prefix))
            .unwrap_or_else(|| panic!("no import `{prefix}…`"))
    }

    #[test]
    fn sockets_and_configuration_have_trapping_adapters() {
        for (guest, prefix, capability) in [
            (
                test_programs_artifacts::LEGACY,
                "wasi:sockets/instance-network@",
                Capability::Network,
            ),
            (
                test_programs_artifacts::SETTINGS,
                "wasi:config/store@",
                Capability::Config,
            ),
        ] {
            let bytes = std::fs::read(guest).unwrap();
            let import = import_named(&bytes, prefix);
            assert_eq!(Capability::entered_by(&import), Some(capability));
            let built = adapter(&bytes, &import, capability).unwrap();
            assert!(wasmparser::Parser::is_component(&built), "{import}");
        }
    }
}
