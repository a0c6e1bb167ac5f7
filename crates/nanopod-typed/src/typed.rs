//! Phase two: match command-line words to WIT parameters and convert each
//! by its type.
//!
//! Rules, in the words of the README:
//! - `--<param> VALUE` (or `--<param>=VALUE`) names a parameter; other words
//!   fill the remaining parameters in order.
//! - `bool`: `true`/`false`, or a bare `--flag` for true.
//! - integers, floats, `char`, `string`: literals; `string` takes the word
//!   as is, no quotes needed.
//! - `option<T>`: may be omitted (`none`); a T is wrapped in `some`; WAVE
//!   `some(..)`/`none` also work.
//! - `stream<u8>`, `list<u8>`, `input-stream`: a path (or `-`), opened by
//!   the host; `output-stream`: a path, stdout when omitted.
//! - everything else (records, variants, enums, flags, tuples, lists,
//!   results): WAVE text.

use crate::exports::{ExportFn, ParamKind, ParamSpec};
use crate::raw::RawArg;
use wasmtime::component::{Type, Val};

/// A command-line mistake: exit code 2, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    /// A usage error with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        UsageError(msg.into())
    }
}

/// One argument, ready for the host.
#[derive(Debug)]
pub enum ArgValue {
    /// A value converted from text.
    Value(Val),
    /// A file (or `-` for stdin) the host must open and pass as `kind`.
    Input {
        /// The path the user gave.
        path: String,
        /// How to pass it.
        kind: ParamKind,
    },
    /// An `output-stream` the host must create: a path, or stdout.
    Output {
        /// The path the user gave, if any.
        path: Option<String>,
    },
}

/// The arguments of one call, in parameter order.
pub type TypedArgs = Vec<ArgValue>;

/// Binds `args` to `f`'s parameters and converts them.
pub fn bind(f: &ExportFn, args: &[RawArg]) -> Result<TypedArgs, UsageError> {
    let mut given: Vec<Option<String>> = vec![None; f.params.len()];
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        match arg {
            RawArg::Flag { name, inline } => {
                let idx = param_index(f, name)?;
                let p = &f.params[idx];
                if given[idx].is_some() {
                    return Err(UsageError::new(format!("`--{}` is given twice", p.name)));
                }
                let value = match inline {
                    Some(v) => v.clone(),
                    None if p.ty == Type::Bool => match iter.peek() {
                        Some(RawArg::Word(w)) if w == "true" || w == "false" => {
                            let w = w.clone();
                            iter.next();
                            w
                        }
                        _ => "true".to_string(),
                    },
                    None => match iter.next() {
                        Some(RawArg::Word(w)) => w.clone(),
                        _ => {
                            return Err(UsageError::new(format!(
                                "`--{}` needs a value ({})",
                                p.name, p.wit_type
                            )));
                        }
                    },
                };
                given[idx] = Some(value);
            }
            RawArg::Word(w) => match given.iter().position(Option::is_none) {
                Some(idx) => given[idx] = Some(w.clone()),
                None => {
                    return Err(UsageError::new(format!(
                        "unexpected argument `{w}`: `{}` takes {} parameter(s)",
                        f.name,
                        f.params.len()
                    )));
                }
            },
        }
    }
    f.params
        .iter()
        .zip(given)
        .map(|(p, text)| convert_param(p, text))
        .collect()
}

fn param_index(f: &ExportFn, flag: &str) -> Result<usize, UsageError> {
    let wanted = flag.replace('_', "-");
    f.params
        .iter()
        .position(|p| p.name == wanted)
        .ok_or_else(|| {
            let known = f
                .params
                .iter()
                .map(|p| format!("--{}", p.name))
                .collect::<Vec<_>>()
                .join(", ");
            if known.is_empty() {
                UsageError::new(format!(
                    "unknown option `--{flag}`: `{}` takes no parameters",
                    f.name
                ))
            } else {
                UsageError::new(format!(
                    "unknown option `--{flag}`; `{}` takes {known}",
                    f.name
                ))
            }
        })
}

fn convert_param(p: &ParamSpec, text: Option<String>) -> Result<ArgValue, UsageError> {
    let Some(text) = text else {
        return match (&p.kind, &p.ty) {
            (ParamKind::OutputStream, _) => Ok(ArgValue::Output { path: None }),
            (_, Type::Option(_)) => Ok(ArgValue::Value(Val::Option(None))),
            _ => Err(UsageError::new(format!(
                "missing argument `--{}` ({})",
                p.name,
                describe(p)
            ))),
        };
    };
    match p.kind {
        ParamKind::OutputStream => Ok(ArgValue::Output { path: Some(text) }),
        ref k if k.is_input() => Ok(ArgValue::Input {
            path: text,
            kind: k.clone(),
        }),
        _ => convert_value(&p.ty, &text)
            .map(ArgValue::Value)
            .map_err(|why| {
                UsageError::new(format!(
                    "invalid value `{text}` for `--{}` ({}): {why}",
                    p.name, p.wit_type
                ))
            }),
    }
}

/// What to give for a parameter, for messages and help.
pub fn describe(p: &ParamSpec) -> String {
    match p.kind {
        ParamKind::ByteStream | ParamKind::InputStream => {
            format!("{}: a file path, or - for stdin", p.wit_type)
        }
        ParamKind::ByteList => format!("{}: a file path, or - for stdin, read whole", p.wit_type),
        ParamKind::OutputStream => format!("{}: a file path; stdout if omitted", p.wit_type),
        ParamKind::Value => match &p.ty {
            Type::Bool => "bool: true or false; a bare flag means true".into(),
            Type::String => "string: the text as is".into(),
            Type::Char => "char: one character".into(),
            Type::Option(_) => format!("{}: may be omitted; a value means some(value)", p.wit_type),
            Type::Own(_) | Type::Borrow(_) => {
                format!(
                    "{}: a resource, which cannot be given on the command line",
                    p.wit_type
                )
            }
            t if is_literal(t) => format!("{}: a number", p.wit_type),
            t => format!("{}: WAVE text, e.g. {}", p.wit_type, wave_example(t, 2)),
        },
    }
}

/// A sample WAVE value of type `ty`, for help text: `{x: 0, y: 0}`,
/// `circle(0.0)`, `{bold}`, `[0]`. Nested values stop at `depth`.
pub fn wave_example(ty: &Type, depth: usize) -> String {
    if depth == 0 {
        return "…".into();
    }
    let inner = |t: &Type| wave_example(t, depth - 1);
    match ty {
        Type::Bool => "true".into(),
        Type::Char => "'a'".into(),
        Type::String => "\"text\"".into(),
        Type::Float32 | Type::Float64 => "1.5".into(),
        t if is_literal(t) => "1".into(),
        Type::List(l) => format!("[{}]", inner(&l.ty())),
        Type::Record(r) => {
            let fields: Vec<String> = r
                .fields()
                .map(|f| format!("{}: {}", f.name, inner(&f.ty)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Type::Tuple(t) => format!(
            "({})",
            t.types().map(|t| inner(&t)).collect::<Vec<_>>().join(", ")
        ),
        Type::Variant(v) => match v.cases().next() {
            Some(c) => match &c.ty {
                Some(t) => format!("{}({})", c.name, inner(t)),
                None => c.name.to_string(),
            },
            None => "…".into(),
        },
        Type::Enum(e) => e.names().next().unwrap_or("…").to_string(),
        Type::Flags(f) => format!("{{{}}}", f.names().next().unwrap_or("")),
        Type::Option(o) => format!("some({})", inner(&o.ty())),
        Type::Result(r) => match r.ok() {
            Some(t) => format!("ok({})", inner(&t)),
            None => "ok".into(),
        },
        _ => "…".into(),
    }
}

fn is_literal(ty: &Type) -> bool {
    matches!(
        ty,
        Type::U8
            | Type::U16
            | Type::U32
            | Type::U64
            | Type::S8
            | Type::S16
            | Type::S32
            | Type::S64
            | Type::Float32
            | Type::Float64
    )
}

/// Converts one word to a value of type `ty`.
pub fn convert_value(ty: &Type, text: &str) -> Result<Val, String> {
    fn num<T: std::str::FromStr + Bounded>(text: &str) -> Result<T, String> {
        text.trim().parse::<T>().map_err(|_| T::expected())
    }
    Ok(match ty {
        Type::Bool => match text {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            _ => return Err("expected true or false".into()),
        },
        Type::U8 => Val::U8(num(text)?),
        Type::U16 => Val::U16(num(text)?),
        Type::U32 => Val::U32(num(text)?),
        Type::U64 => Val::U64(num(text)?),
        Type::S8 => Val::S8(num(text)?),
        Type::S16 => Val::S16(num(text)?),
        Type::S32 => Val::S32(num(text)?),
        Type::S64 => Val::S64(num(text)?),
        Type::Float32 => Val::Float32(num(text)?),
        Type::Float64 => Val::Float64(num(text)?),
        Type::Char => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err("expected exactly one character".into()),
            }
        }
        Type::String => Val::String(text.to_string()),
        Type::Option(o) => {
            let t = text.trim();
            if t == "none" || t.starts_with("some(") {
                wave(ty, text)?
            } else {
                Val::Option(Some(Box::new(convert_value(&o.ty(), text)?)))
            }
        }
        Type::Own(_) | Type::Borrow(_) => {
            return Err("resources cannot be given on the command line".into());
        }
        Type::Stream(_) | Type::Future(_) | Type::ErrorContext => {
            return Err("this type cannot be given on the command line".into());
        }
        _ => wave(ty, text)?,
    })
}

/// What a numeric type accepts, for error messages.
trait Bounded {
    fn expected() -> String;
}

macro_rules! bounded_int {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            fn expected() -> String {
                format!("expected an integer from {} to {}", <$t>::MIN, <$t>::MAX)
            }
        }
    )*};
}
bounded_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Bounded for f32 {
    fn expected() -> String {
        "expected a number such as 1.5, -2, 1e3, inf or nan".into()
    }
}

impl Bounded for f64 {
    fn expected() -> String {
        f32::expected()
    }
}

fn wave(ty: &Type, text: &str) -> Result<Val, String> {
    Val::from_wave(ty, text).map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_literals() {
        assert_eq!(convert_value(&Type::U32, "42"), Ok(Val::U32(42)));
        assert_eq!(convert_value(&Type::S8, "-5"), Ok(Val::S8(-5)));
        assert_eq!(convert_value(&Type::Float64, "2.5"), Ok(Val::Float64(2.5)));
        assert_eq!(convert_value(&Type::Bool, "false"), Ok(Val::Bool(false)));
        assert_eq!(convert_value(&Type::Char, "é"), Ok(Val::Char('é')));
        assert_eq!(
            convert_value(&Type::String, "two words"),
            Ok(Val::String("two words".into()))
        );
    }

    #[test]
    fn reject_bad_literals() {
        assert!(convert_value(&Type::U8, "256").is_err());
        assert!(convert_value(&Type::U32, "-1").is_err());
        assert!(convert_value(&Type::U32, "ten").is_err());
        assert!(convert_value(&Type::Bool, "yes").is_err());
        assert!(convert_value(&Type::Char, "ab").is_err());
        assert!(convert_value(&Type::Char, "").is_err());
    }

    #[test]
    fn fuzz_smoke_never_panics() {
        // A tiny deterministic fuzz: arbitrary words against every literal type.
        let types = [
            Type::Bool,
            Type::U8,
            Type::S64,
            Type::Float32,
            Type::Char,
            Type::String,
        ];
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..500 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 12) as usize;
            let word: String = (0..len)
                .map(|i| char::from_u32(((seed >> (i * 5)) % 0x80) as u32).unwrap_or('x'))
                .collect();
            for t in &types {
                let _ = convert_value(t, &word);
            }
        }
    }
}
