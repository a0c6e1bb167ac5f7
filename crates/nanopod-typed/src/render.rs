//! Turning a returned value into what the user sees.
//!
//! `stream<u8>` and `list<u8>` are raw bytes (stdout or `-o FILE`),
//! `string` is printed with a newline, anything else as WAVE. For
//! `result<T, E>`, `ok` renders T and `err` becomes an error message.

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

/// Renders `val`, of type `ty`.
pub fn render(ty: &Type, val: Val) -> anyhow::Result<Rendered> {
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
                other => other.to_wave()?,
            }),
        },
        (_, Val::String(s)) => Rendered::Text(s),
        (Type::List(l), Val::List(items)) if l.ty() == Type::U8 => Rendered::Bytes(
            items
                .into_iter()
                .map(|v| match v {
                    Val::U8(b) => b,
                    _ => 0,
                })
                .collect(),
        ),
        (Type::Stream(s), Val::Stream(stream)) => {
            if s.ty() != Some(Type::U8) {
                anyhow::bail!("cannot print a stream of anything but bytes");
            }
            Rendered::Stream(stream)
        }
        (_, other) => Rendered::Text(other.to_wave()?),
    })
}
