//! Phase two: bind command-line words to WIT parameters and convert each
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
use crate::help::describe;
use crate::raw::RawArg;
use std::ffi::OsString;
use std::path::PathBuf;
use wasmtime::component::{Type, Val};

/// Words that do not fit the function's parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// A parameter given twice.
    #[error("`--{0}` is given twice")]
    Twice(String),
    /// A flag without its value.
    #[error("`--{param}` needs a value ({wit_type})")]
    NeedsValue {
        /// The parameter.
        param: String,
        /// Its WIT type.
        wit_type: String,
    },
    /// More words than parameters.
    #[error("unexpected argument `{word}`: `{function}` takes {count} parameter(s)")]
    Unexpected {
        /// The word.
        word: String,
        /// The function.
        function: String,
        /// How many parameters it takes.
        count: usize,
    },
    /// A flag that names no parameter.
    #[error("unknown option `--{flag}`; `{function}` takes {known}")]
    UnknownFlag {
        /// The flag, without dashes.
        flag: String,
        /// The function.
        function: String,
        /// Its parameters' flags.
        known: String,
    },
    /// A flag given to a function without parameters.
    #[error("unknown option `--{flag}`: `{function}` takes no parameters")]
    NoParameters {
        /// The flag, without dashes.
        flag: String,
        /// The function.
        function: String,
    },
    /// A parameter that must be given.
    #[error("missing argument `--{param}` ({what})")]
    Missing {
        /// The parameter.
        param: String,
        /// What to give for it.
        what: String,
    },
    /// A word that is not UTF-8 for a parameter that is not a path: WIT
    /// strings and values are UTF-8.
    #[error(
        "`--{param}` ({wit_type}) is given `{text}`, which is not UTF-8: only a path may be other bytes"
    )]
    NotUtf8 {
        /// The word, its non-UTF-8 bytes shown as U+FFFD.
        text: String,
        /// The parameter.
        param: String,
        /// Its WIT type.
        wit_type: String,
    },
    /// A word that is not a value of the parameter's type.
    #[error("invalid value `{text}` for `--{param}` ({wit_type}): {why}")]
    Invalid {
        /// The word.
        text: String,
        /// The parameter.
        param: String,
        /// Its WIT type.
        wit_type: String,
        /// Why.
        why: String,
    },
}

/// One argument, ready for the host.
#[derive(Debug)]
pub enum ArgValue {
    /// A value converted from text.
    Value(Val),
    /// A file (or `-` for stdin) the host must open and pass as `kind`.
    Input {
        /// The path the user gave (any bytes: a host path).
        path: PathBuf,
        /// How to pass it.
        kind: ParamKind,
    },
    /// An `output-stream` the host must create: a path, or stdout.
    Output {
        /// The path the user gave, if any.
        path: Option<PathBuf>,
    },
}

/// The arguments of one call, in parameter order.
pub type TypedArgs = Vec<ArgValue>;

/// Binds `args` to `f`'s parameters and converts them.
pub fn bind(f: &ExportFn, args: &[RawArg]) -> Result<TypedArgs, BindError> {
    let mut given: Vec<Option<OsString>> = vec![None; f.params.len()];
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        match arg {
            RawArg::Flag { name, inline } => {
                let idx = param_index(f, name)?;
                let p = &f.params[idx];
                if given[idx].is_some() {
                    return Err(BindError::Twice(p.name.clone()));
                }
                let value = match inline {
                    Some(v) => v.clone(),
                    None if p.ty == Type::Bool => match iter.peek() {
                        Some(RawArg::Word(w)) if w == "true" || w == "false" => {
                            let w = w.clone();
                            iter.next();
                            w
                        }
                        _ => "true".into(),
                    },
                    None => match iter.next() {
                        Some(RawArg::Word(w)) => w.clone(),
                        _ => {
                            return Err(BindError::NeedsValue {
                                param: p.name.clone(),
                                wit_type: p.wit_type.clone(),
                            });
                        }
                    },
                };
                given[idx] = Some(value);
            }
            RawArg::Word(w) => match given.iter().position(Option::is_none) {
                Some(idx) => given[idx] = Some(w.clone()),
                None => {
                    return Err(BindError::Unexpected {
                        word: w.to_string_lossy().into_owned(),
                        function: f.name.clone(),
                        count: f.params.len(),
                    });
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

fn param_index(f: &ExportFn, flag: &str) -> Result<usize, BindError> {
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
                BindError::NoParameters {
                    flag: flag.to_string(),
                    function: f.name.clone(),
                }
            } else {
                BindError::UnknownFlag {
                    flag: flag.to_string(),
                    function: f.name.clone(),
                    known,
                }
            }
        })
}

fn convert_param(p: &ParamSpec, text: Option<OsString>) -> Result<ArgValue, BindError> {
    let Some(text) = text else {
        return match (&p.kind, &p.ty) {
            (ParamKind::OutputStream, _) => Ok(ArgValue::Output { path: None }),
            (_, Type::Option(_)) => Ok(ArgValue::Value(Val::Option(None))),
            _ => Err(BindError::Missing {
                param: p.name.clone(),
                what: describe(p),
            }),
        };
    };
    match p.kind {
        ParamKind::OutputStream => Ok(ArgValue::Output {
            path: Some(text.into()),
        }),
        ref k if k.is_input() => Ok(ArgValue::Input {
            path: text.into(),
            kind: k.clone(),
        }),
        _ => {
            let text = text.into_string().map_err(|text| BindError::NotUtf8 {
                text: text.to_string_lossy().into_owned(),
                param: p.name.clone(),
                wit_type: p.wit_type.clone(),
            })?;
            convert_value(&p.ty, &text)
                .map(ArgValue::Value)
                .map_err(|why| BindError::Invalid {
                    text: text.clone(),
                    param: p.name.clone(),
                    wit_type: p.wit_type.clone(),
                    why,
                })
        }
    }
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

/// Parses WAVE, naming the part of `text` that failed (WAVE's own message
/// gives only its byte range).
fn wave(ty: &Type, text: &str) -> Result<Val, String> {
    use wasm_wave::parser::{ParserError, ParserErrorKind};
    Val::from_wave(ty, text).map_err(|e| {
        let message = e.to_string();
        let Some(parser) = e.downcast_ref::<ParserError>() else {
            return message;
        };
        let span = parser.span();
        match text.get(span.clone()).filter(|part| !part.is_empty()) {
            Some(part) if message.contains(part) => message,
            Some(part)
                if parser.kind() == ParserErrorKind::InvalidValue
                    && part.parse::<f64>().is_ok() =>
            {
                format!(
                    "`{part}` (at {}..{}) is out of range for, or not of, the number type it is given for",
                    span.start, span.end
                )
            }
            Some(part) => format!("{message}: `{part}`"),
            None => message,
        }
    })
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
