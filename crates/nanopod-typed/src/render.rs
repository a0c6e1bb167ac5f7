//! Turning a returned value into what the user sees.
//!
//! `stream<u8>` and `list<u8>` are raw bytes (stdout or `-o FILE`),
//! `string` is printed with a newline, anything else as WAVE. For
//! `result<T, E>`, `ok` renders T and `err` becomes an error message.

use nanopod_host::types::val_kind;
use wasmtime::component::{StreamAny, Type, Val};

/// What a call's result means for the user.
pub enum Rendered {
    /// Nothing to print.
    Nothing,
    /// A line of text for stdout.
    Text(String),
    /// Raw bytes for stdout or the output file.
    Bytes(Vec<u8>),
    /// A byte stream to pipe to stdout or the output file.
    Stream(StreamAny),
    /// The component returned `err`: print to stderr, exit 1.
    Error(String),
}

/// A result that cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A `list<u8>` holding something other than bytes.
    #[error("the component returned a list<u8> holding a value that is not a byte ({0})")]
    NotAByte(&'static str),
    /// A stream of something other than bytes.
    #[error("cannot print a stream of anything but bytes")]
    NotAByteStream,
    /// WAVE cannot spell the value.
    #[error("cannot print the result as WAVE: {0}")]
    Wave(String),
}

/// Renders `val`, of type `ty`.
pub fn render(ty: &Type, val: Val) -> Result<Rendered, RenderError> {
    Ok(match (ty, val) {
        (Type::Result(r), Val::Result(res)) => match res {
            Ok(None) => Rendered::Nothing,
            Ok(Some(v)) => match r.ok() {
                Some(t) => render(&t, *v)?,
                None => Rendered::Nothing,
            },
            Err(None) => Rendered::Error("the component returned an error".into()),
            Err(Some(v)) => Rendered::Error(match *v {
                Val::String(s) => s,
                other => wave(&other)?,
            }),
        },
        (_, Val::String(s)) => Rendered::Text(s),
        (Type::List(l), Val::List(items)) if l.ty() == Type::U8 => Rendered::Bytes(
            items
                .into_iter()
                .map(|v| match v {
                    Val::U8(b) => Ok(b),
                    other => Err(RenderError::NotAByte(val_kind(&other))),
                })
                .collect::<Result<_, _>>()?,
        ),
        (Type::Stream(s), Val::Stream(stream)) => {
            if s.ty() != Some(Type::U8) {
                return Err(RenderError::NotAByteStream);
            }
            Rendered::Stream(stream)
        }
        (_, other) => Rendered::Text(wave(&other)?),
    })
}

fn wave(val: &Val) -> Result<String, RenderError> {
    val.to_wave().map_err(|e| RenderError::Wave(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn byte_list() -> Type {
        // `list<u8>` from a tiny component's export type.
        let engine = wasmtime::Engine::default();
        let wasm = wat::parse_str(
            r#"(component
                 (core module $m
                   (memory (export "m") 1)
                   (func (export "f") (result i32) i32.const 0))
                 (core instance $i (instantiate $m))
                 (func (export "f") (result (list u8))
                   (canon lift (core func $i "f") (memory (core memory $i "m")))))"#,
        )
        .unwrap();
        let component = wasmtime::component::Component::new(&engine, wasm).unwrap();
        let ty = component.component_type();
        let (_, item) = ty.exports(&engine).next().unwrap();
        let wasmtime::component::types::ComponentItem::ComponentFunc(f) = item.ty else {
            panic!("not a function");
        };
        f.results().next().unwrap()
    }

    #[test]
    fn a_byte_list_renders_as_bytes() {
        let ty = byte_list();
        let Ok(Rendered::Bytes(b)) = render(&ty, Val::List(vec![Val::U8(1), Val::U8(255)])) else {
            panic!("not bytes");
        };
        assert_eq!(b, [1, 255]);
    }

    #[test]
    fn a_byte_list_holding_anything_else_is_refused_not_zeroed() {
        let ty = byte_list();
        let err = render(&ty, Val::List(vec![Val::U8(1), Val::U32(7)]))
            .err()
            .expect("refused");
        assert_eq!(
            err.to_string(),
            "the component returned a list<u8> holding a value that is not a byte (integer)"
        );
    }
}
