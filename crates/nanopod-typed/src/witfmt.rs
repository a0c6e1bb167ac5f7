//! Printing WIT types the way they are written in `.wit` files.

use wit_parser::{Handle, Resolve, Type, TypeDefKind, TypeId};

/// The WIT spelling of `ty`: named types by name, anonymous ones spelled out
/// (`list<u8>`, `option<string>`, `result<f64, string>`, `stream<u8>`).
pub(crate) fn type_name(resolve: &Resolve, ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Id(id) => id_name(resolve, *id),
    }
}

fn id_name(resolve: &Resolve, id: TypeId) -> String {
    let def = &resolve.types[id];
    if let Some(name) = &def.name {
        return name.clone();
    }
    let opt = |t: &Option<Type>| t.as_ref().map(|t| type_name(resolve, t));
    match &def.kind {
        TypeDefKind::List(t) => format!("list<{}>", type_name(resolve, t)),
        TypeDefKind::FixedLengthList(t, n) => format!("list<{}, {n}>", type_name(resolve, t)),
        TypeDefKind::Map(k, v) => {
            format!("map<{}, {}>", type_name(resolve, k), type_name(resolve, v))
        }
        TypeDefKind::Option(t) => format!("option<{}>", type_name(resolve, t)),
        TypeDefKind::Result(r) => match (opt(&r.ok), opt(&r.err)) {
            (None, None) => "result".into(),
            (Some(ok), None) => format!("result<{ok}>"),
            (None, Some(err)) => format!("result<_, {err}>"),
            (Some(ok), Some(err)) => format!("result<{ok}, {err}>"),
        },
        TypeDefKind::Tuple(t) => format!(
            "tuple<{}>",
            t.types
                .iter()
                .map(|t| type_name(resolve, t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TypeDefKind::Future(t) => match opt(t) {
            Some(t) => format!("future<{t}>"),
            None => "future".into(),
        },
        TypeDefKind::Stream(t) => match opt(t) {
            Some(t) => format!("stream<{t}>"),
            None => "stream".into(),
        },
        TypeDefKind::Handle(Handle::Own(r)) => id_name(resolve, *r),
        TypeDefKind::Handle(Handle::Borrow(r)) => format!("borrow<{}>", id_name(resolve, *r)),
        TypeDefKind::Type(t) => type_name(resolve, t),
        other => other.as_str().into(),
    }
}

/// The named types (records, variants, enums, flags) that `ty` mentions,
/// outermost first, each once.
pub(crate) fn named_types(resolve: &Resolve, ty: &Type, out: &mut Vec<TypeId>) {
    let Type::Id(id) = ty else { return };
    let def = &resolve.types[*id];
    let named = matches!(
        def.kind,
        TypeDefKind::Record(_)
            | TypeDefKind::Variant(_)
            | TypeDefKind::Enum(_)
            | TypeDefKind::Flags(_)
    );
    if named {
        if out.contains(id) {
            return;
        }
        out.push(*id);
    }
    let mut visit = |t: &Type| named_types(resolve, t, out);
    match &def.kind {
        TypeDefKind::Record(r) => r.fields.iter().for_each(|f| visit(&f.ty)),
        TypeDefKind::Variant(v) => v.cases.iter().filter_map(|c| c.ty.as_ref()).for_each(visit),
        TypeDefKind::Tuple(t) => t.types.iter().for_each(visit),
        TypeDefKind::Option(t) | TypeDefKind::List(t) | TypeDefKind::Type(t) => visit(t),
        TypeDefKind::FixedLengthList(t, _) => visit(t),
        TypeDefKind::Map(k, v) => {
            visit(k);
            visit(v);
        }
        TypeDefKind::Result(r) => {
            r.ok.iter().chain(r.err.iter()).for_each(visit);
        }
        TypeDefKind::Future(t) | TypeDefKind::Stream(t) => t.iter().for_each(visit),
        _ => {}
    }
}

/// One field or case of a named type: its name, its WIT text, its docs.
pub(crate) struct Item {
    /// The field or case name.
    pub name: String,
    /// How WIT writes it: `x: s32`, `circle(f64)`, `red`.
    pub shown: String,
    /// Its doc comment in the decoded WIT, if any.
    pub docs: Option<String>,
}

/// The keyword and the fields, cases or flags of a named type.
pub(crate) fn type_body(resolve: &Resolve, id: TypeId) -> (&'static str, Vec<Item>) {
    let item = |name: &str, shown: String, docs: &wit_parser::Docs| Item {
        name: name.to_string(),
        shown,
        docs: docs.contents.clone(),
    };
    match &resolve.types[id].kind {
        TypeDefKind::Record(r) => (
            "record",
            r.fields
                .iter()
                .map(|f| {
                    item(
                        &f.name,
                        format!("{}: {}", f.name, type_name(resolve, &f.ty)),
                        &f.docs,
                    )
                })
                .collect(),
        ),
        TypeDefKind::Variant(v) => (
            "variant",
            v.cases
                .iter()
                .map(|c| {
                    let shown = match &c.ty {
                        Some(t) => format!("{}({})", c.name, type_name(resolve, t)),
                        None => c.name.clone(),
                    };
                    item(&c.name, shown, &c.docs)
                })
                .collect(),
        ),
        TypeDefKind::Enum(e) => (
            "enum",
            e.cases
                .iter()
                .map(|c| item(&c.name, c.name.clone(), &c.docs))
                .collect(),
        ),
        TypeDefKind::Flags(f) => (
            "flags",
            f.flags
                .iter()
                .map(|c| item(&c.name, c.name.clone(), &c.docs))
                .collect(),
        ),
        other => (other.as_str(), Vec::new()),
    }
}
