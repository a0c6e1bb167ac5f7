//! The one walk over WIT value types (wasmtime's [`Type`]), and the type
//! shapes the host treats specially.

use wasmtime::component::{Type, Val};

/// Searches `ty` and every type inside it, depth first: the first `Some`
/// that `f` returns.
pub fn find_in<T>(ty: &Type, f: &mut impl FnMut(&Type) -> Option<T>) -> Option<T> {
    if let Some(found) = f(ty) {
        return Some(found);
    }
    match ty {
        Type::List(l) => find_in(&l.ty(), f),
        Type::FixedLengthList(l) => find_in(&l.ty(), f),
        Type::Map(m) => find_in(&m.key(), f).or_else(|| find_in(&m.value(), f)),
        Type::Record(r) => r.fields().find_map(|field| find_in(&field.ty, f)),
        Type::Tuple(t) => t.types().find_map(|t| find_in(&t, f)),
        Type::Variant(v) => v
            .cases()
            .find_map(|c| c.ty.as_ref().and_then(|t| find_in(t, f))),
        Type::Option(o) => find_in(&o.ty(), f),
        Type::Result(r) => r
            .ok()
            .as_ref()
            .and_then(|t| find_in(t, f))
            .or_else(|| r.err().as_ref().and_then(|t| find_in(t, f))),
        _ => None,
    }
}

/// Whether values of `ty` are a byte stream: `stream<u8>`.
pub fn is_byte_stream(ty: &Type) -> bool {
    matches!(ty, Type::Stream(s) if s.ty() == Some(Type::U8))
}

/// Whether values of `ty` are bytes: `list<u8>`.
pub fn is_byte_list(ty: &Type) -> bool {
    matches!(ty, Type::List(l) if l.ty() == Type::U8)
}

/// What kind of value `val` is, for messages.
pub fn val_kind(val: &Val) -> &'static str {
    match val {
        Val::Bool(_) => "bool",
        Val::S8(_) | Val::U8(_) | Val::S16(_) | Val::U16(_) => "small integer",
        Val::S32(_) | Val::U32(_) | Val::S64(_) | Val::U64(_) => "integer",
        Val::Float32(_) | Val::Float64(_) => "float",
        Val::Char(_) => "char",
        Val::String(_) => "string",
        Val::List(_) | Val::FixedLengthList(_) => "list",
        Val::Map(_) => "map",
        Val::Record(_) => "record",
        Val::Tuple(_) => "tuple",
        Val::Variant(..) => "variant",
        Val::Enum(_) => "enum",
        Val::Option(_) => "option",
        Val::Result(_) => "result",
        Val::Flags(_) => "flags",
        Val::Resource(_) => "resource",
        Val::Future(_) => "future",
        Val::Stream(_) => "stream",
        Val::ErrorContext(_) => "error-context",
    }
}
