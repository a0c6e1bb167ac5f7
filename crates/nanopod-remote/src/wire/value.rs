//! The wRPC value encoding: WIT values as bytes, following the component
//! model's value definition encoding as wRPC uses it. Integers wider than a
//! byte are LEB128 (signed ones zigzag-free, two's-complement SLEB128),
//! floats little-endian, `char` UTF-8, strings and lists length-prefixed,
//! records and tuples their fields in order, variants and enums a LEB128
//! case index, options and results a tag byte, flags a little-endian bit
//! vector of `ceil(n / 8)` bytes.
//!
//! Decoding is driven by the expected [`Type`], so a hostile peer cannot
//! make the decoder build anything the WIT signature does not allow; every
//! length is checked against the bytes actually present before memory is
//! reserved for it.

use super::CodecError;
use super::leb128::{put_sleb, put_uleb, take_byte, take_sleb, take_uleb};
use nanopod_host::types::{find_in, is_byte_stream, val_kind};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// A top-level parameter or result as it arrives in a root message.
#[derive(Debug)]
pub enum Slot {
    /// An ordinary value.
    Value(Val),
    /// A `stream<u8>` sent whole.
    ReadyStream(Vec<u8>),
    /// A `stream<u8>` whose chunks follow on its own path.
    PendingStream,
}

/// Elements of a list whose elements encode to zero bytes (`tuple<>`)
/// cannot be bounded by the input length; this bounds them instead.
const MAX_EMPTY_ELEMENTS: u64 = 1 << 16;

/// Appends the encoding of `vals` (a parameter or result list) to `out`.
pub fn encode_all(vals: &[Val], types: &[Type], out: &mut Vec<u8>) -> Result<(), CodecError> {
    if vals.len() != types.len() {
        return Err(CodecError::Mismatch(format!(
            "{} values for {} types",
            vals.len(),
            types.len()
        )));
    }
    for (val, ty) in vals.iter().zip(types) {
        encode(val, ty, out)?;
    }
    Ok(())
}

/// Decodes exactly `types.len()` values that fill `input` completely.
pub fn decode_all(mut input: &[u8], types: &[Type]) -> Result<Vec<Val>, CodecError> {
    let vals = types
        .iter()
        .map(|ty| decode(&mut input, ty))
        .collect::<Result<Vec<_>, _>>()?;
    if !input.is_empty() {
        return Err(CodecError::Trailing(input.len()));
    }
    Ok(vals)
}

/// Decodes a parameter or result list that fills `input` completely,
/// where a top-level `stream<u8>` may be sent whole or be pending (its
/// chunks follow on its own path; see [`crate::stream`]).
pub fn decode_slots(mut input: &[u8], types: &[Type]) -> Result<Vec<Slot>, CodecError> {
    let mut slots = Vec::with_capacity(types.len());
    for ty in types {
        slots.push(if is_byte_stream(ty) {
            match take_byte(&mut input)? {
                0 => Slot::PendingStream,
                1 => {
                    let len = take_uleb(&mut input, 32)? as usize;
                    Slot::ReadyStream(take(&mut input, len)?.to_vec())
                }
                _ => return Err(CodecError::Malformed { what: "stream" }),
            }
        } else {
            Slot::Value(decode(&mut input, ty)?)
        });
    }
    if !input.is_empty() {
        return Err(CodecError::Trailing(input.len()));
    }
    Ok(slots)
}

/// Appends the encoding of `val`, of type `ty`, to `out`. A top-level
/// `stream<u8>` is encoded as pending: its bytes follow as chunks.
pub fn encode(val: &Val, ty: &Type, out: &mut Vec<u8>) -> Result<(), CodecError> {
    match (val, ty) {
        (Val::Stream(_), ty) if is_byte_stream(ty) => out.push(0),
        (Val::Bool(v), Type::Bool) => out.push(u8::from(*v)),
        (Val::S8(v), Type::S8) => out.extend_from_slice(&v.to_le_bytes()),
        (Val::U8(v), Type::U8) => out.push(*v),
        (Val::S16(v), Type::S16) => put_sleb(out, i64::from(*v)),
        (Val::U16(v), Type::U16) => put_uleb(out, u64::from(*v)),
        (Val::S32(v), Type::S32) => put_sleb(out, i64::from(*v)),
        (Val::U32(v), Type::U32) => put_uleb(out, u64::from(*v)),
        (Val::S64(v), Type::S64) => put_sleb(out, *v),
        (Val::U64(v), Type::U64) => put_uleb(out, *v),
        (Val::Float32(v), Type::Float32) => out.extend_from_slice(&v.to_le_bytes()),
        (Val::Float64(v), Type::Float64) => out.extend_from_slice(&v.to_le_bytes()),
        (Val::Char(c), Type::Char) => {
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        (Val::String(s), Type::String) => {
            put_len(out, s.len())?;
            out.extend_from_slice(s.as_bytes());
        }
        (Val::List(items), Type::List(list)) => {
            put_len(out, items.len())?;
            let elem = list.ty();
            if matches!(elem, Type::U8) {
                // The common bulk case, without a match per byte.
                out.reserve(items.len());
                for item in items {
                    let Val::U8(b) = item else {
                        return Err(mismatch(item, &elem));
                    };
                    out.push(*b);
                }
            } else {
                for item in items {
                    encode(item, &elem, out)?;
                }
            }
        }
        (Val::FixedLengthList(items), Type::FixedLengthList(list)) => {
            if items.len() as u64 != u64::from(list.len()) {
                return Err(CodecError::Mismatch(format!(
                    "{} elements for a list of {}",
                    items.len(),
                    list.len()
                )));
            }
            let elem = list.ty();
            for item in items {
                encode(item, &elem, out)?;
            }
        }
        (Val::Map(entries), Type::Map(map)) => {
            put_len(out, entries.len())?;
            let (k, v) = (map.key(), map.value());
            for (key, value) in entries {
                encode(key, &k, out)?;
                encode(value, &v, out)?;
            }
        }
        (Val::Record(fields), Type::Record(record)) => {
            if fields.len() != record.fields().len() {
                return Err(mismatch(val, ty));
            }
            for ((name, value), field) in fields.iter().zip(record.fields()) {
                if name != field.name {
                    return Err(mismatch(val, ty));
                }
                encode(value, &field.ty, out)?;
            }
        }
        (Val::Tuple(items), Type::Tuple(tuple)) => {
            if items.len() != tuple.types().len() {
                return Err(mismatch(val, ty));
            }
            for (item, ty) in items.iter().zip(tuple.types()) {
                encode(item, &ty, out)?;
            }
        }
        (Val::Variant(name, payload), Type::Variant(variant)) => {
            let (index, case) = variant
                .cases()
                .enumerate()
                .find(|(_, c)| c.name == name)
                .ok_or_else(|| mismatch(val, ty))?;
            put_uleb(out, index as u64);
            encode_payload(payload.as_deref(), case.ty.as_ref(), out)?;
        }
        (Val::Enum(name), Type::Enum(e)) => {
            let index = e
                .names()
                .position(|n| n == name)
                .ok_or_else(|| mismatch(val, ty))?;
            put_uleb(out, index as u64);
        }
        (Val::Option(v), Type::Option(o)) => match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                encode(v, &o.ty(), out)?;
            }
        },
        (Val::Result(r), Type::Result(rt)) => match r {
            Ok(v) => {
                out.push(0);
                encode_payload(v.as_deref(), rt.ok().as_ref(), out)?;
            }
            Err(v) => {
                out.push(1);
                encode_payload(v.as_deref(), rt.err().as_ref(), out)?;
            }
        },
        (Val::Flags(set), Type::Flags(flags)) => {
            let names: Vec<&str> = flags.names().collect();
            let mut bits = vec![0u8; names.len().div_ceil(8)];
            for flag in set {
                let i = names
                    .iter()
                    .position(|n| n == flag)
                    .ok_or_else(|| mismatch(val, ty))?;
                bits[i / 8] |= 1 << (i % 8);
            }
            out.extend_from_slice(&bits);
        }
        (_, ty) => {
            if let Some(what) = unsupported(ty) {
                return Err(CodecError::Unsupported(what));
            }
            return Err(mismatch(val, ty));
        }
    }
    Ok(())
}

fn encode_payload(
    val: Option<&Val>,
    ty: Option<&Type>,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    match (val, ty) {
        (None, None) => Ok(()),
        (Some(v), Some(t)) => encode(v, t, out),
        _ => Err(CodecError::Mismatch(
            "a case payload is missing or unexpected".into(),
        )),
    }
}

fn mismatch(val: &Val, ty: &Type) -> CodecError {
    CodecError::Mismatch(format!("{} for {}", val_kind(val), type_kind(ty)))
}

/// Why values of `ty` cannot travel, if they cannot: handles and
/// asynchronous values are bound to the store they live in.
pub fn unsupported(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Own(_) | Type::Borrow(_) => Some("resource handle"),
        Type::Future(_) => Some("future"),
        Type::Stream(_) => Some("stream"),
        Type::ErrorContext => Some("error-context"),
        _ => None,
    }
}

/// Why values of the top-level parameter or result type `ty` cannot cross
/// hosts, if they cannot. A top-level `stream<u8>` crosses, chunk by chunk
/// ([`crate::stream`]); streams anywhere else do not.
pub fn cannot_cross(ty: &Type) -> Option<&'static str> {
    if is_byte_stream(ty) {
        None
    } else {
        find_in(ty, &mut unsupported)
    }
}

/// Decodes one value of type `ty` from the front of `input`.
pub fn decode(input: &mut &[u8], ty: &Type) -> Result<Val, CodecError> {
    Ok(match ty {
        Type::Bool => match take_byte(input)? {
            0 => Val::Bool(false),
            1 => Val::Bool(true),
            _ => return Err(CodecError::Malformed { what: "bool" }),
        },
        Type::S8 => Val::S8(i8::from_le_bytes([take_byte(input)?])),
        Type::U8 => Val::U8(take_byte(input)?),
        Type::S16 => Val::S16(narrow(take_sleb(input, 16)?, "s16")?),
        Type::U16 => Val::U16(narrow(take_uleb(input, 16)?, "u16")?),
        Type::S32 => Val::S32(narrow(take_sleb(input, 32)?, "s32")?),
        Type::U32 => Val::U32(narrow(take_uleb(input, 32)?, "u32")?),
        Type::S64 => Val::S64(take_sleb(input, 64)?),
        Type::U64 => Val::U64(take_uleb(input, 64)?),
        Type::Float32 => Val::Float32(f32::from_le_bytes(take_array(input)?)),
        Type::Float64 => Val::Float64(f64::from_le_bytes(take_array(input)?)),
        Type::Char => Val::Char(take_char(input)?),
        Type::String => {
            let n = take_len(input, 1)?;
            let bytes = take(input, n)?;
            let s =
                std::str::from_utf8(bytes).map_err(|_| CodecError::Malformed { what: "string" })?;
            Val::String(s.to_string())
        }
        Type::List(list) => {
            let elem = list.ty();
            let n = take_len(input, min_size(&elem))?;
            if matches!(elem, Type::U8) {
                Val::List(take(input, n)?.iter().map(|b| Val::U8(*b)).collect())
            } else {
                Val::List(decode_n(input, &elem, n)?)
            }
        }
        Type::FixedLengthList(list) => {
            let n =
                usize::try_from(list.len()).map_err(|_| CodecError::Malformed { what: "list" })?;
            Val::FixedLengthList(decode_n(input, &list.ty(), n)?)
        }
        Type::Map(map) => {
            let (k, v) = (map.key(), map.value());
            let n = take_len(input, min_size(&k) + min_size(&v))?;
            let mut entries = Vec::with_capacity(n.min(input.len()));
            for _ in 0..n {
                entries.push((decode(input, &k)?, decode(input, &v)?));
            }
            Val::Map(entries)
        }
        Type::Record(record) => Val::Record(
            record
                .fields()
                .map(|f| Ok((f.name.to_string(), decode(input, &f.ty)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        Type::Tuple(tuple) => Val::Tuple(
            tuple
                .types()
                .map(|t| decode(input, &t))
                .collect::<Result<_, _>>()?,
        ),
        Type::Variant(variant) => {
            let index = take_uleb(input, 32)?;
            let case = usize::try_from(index)
                .ok()
                .and_then(|i| variant.cases().nth(i))
                .ok_or(CodecError::Malformed {
                    what: "variant case",
                })?;
            let payload = decode_payload(input, case.ty.as_ref())?;
            Val::Variant(case.name.to_string(), payload)
        }
        Type::Enum(e) => {
            let index = take_uleb(input, 32)?;
            let name = usize::try_from(index)
                .ok()
                .and_then(|i| e.names().nth(i))
                .ok_or(CodecError::Malformed { what: "enum case" })?;
            Val::Enum(name.to_string())
        }
        Type::Option(o) => match take_byte(input)? {
            0 => Val::Option(None),
            1 => Val::Option(Some(Box::new(decode(input, &o.ty())?))),
            _ => return Err(CodecError::Malformed { what: "option" }),
        },
        Type::Result(r) => match take_byte(input)? {
            0 => Val::Result(Ok(decode_payload(input, r.ok().as_ref())?)),
            1 => Val::Result(Err(decode_payload(input, r.err().as_ref())?)),
            _ => return Err(CodecError::Malformed { what: "result" }),
        },
        Type::Flags(flags) => {
            let names: Vec<&str> = flags.names().collect();
            let bits = take(input, names.len().div_ceil(8))?;
            let mut set = Vec::new();
            for (i, name) in names.iter().enumerate() {
                if bits[i / 8] & (1 << (i % 8)) != 0 {
                    set.push(name.to_string());
                }
            }
            // Bits past the last flag must be clear.
            let used = names.len() % 8;
            if used != 0 && bits.last().is_some_and(|b| b >> used != 0) {
                return Err(CodecError::Malformed { what: "flags" });
            }
            Val::Flags(set)
        }
        ty => {
            return Err(CodecError::Unsupported(
                unsupported(ty).unwrap_or("this type's"),
            ));
        }
    })
}

fn decode_n(input: &mut &[u8], elem: &Type, n: usize) -> Result<Vec<Val>, CodecError> {
    let mut items = Vec::with_capacity(n.min(input.len()));
    for _ in 0..n {
        items.push(decode(input, elem)?);
    }
    Ok(items)
}

fn decode_payload(input: &mut &[u8], ty: Option<&Type>) -> Result<Option<Box<Val>>, CodecError> {
    ty.map(|t| decode(input, t).map(Box::new)).transpose()
}

/// The fewest bytes a value of `ty` encodes to.
fn min_size(ty: &Type) -> usize {
    match ty {
        Type::Record(r) => r.fields().map(|f| min_size(&f.ty)).sum(),
        Type::Tuple(t) => t.types().map(|t| min_size(&t)).sum(),
        Type::FixedLengthList(l) => min_size(&l.ty()).saturating_mul(l.len() as usize),
        Type::Flags(f) => f.names().len().div_ceil(8),
        _ => 1,
    }
}

pub(super) fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], CodecError> {
    if input.len() < n {
        return Err(CodecError::Truncated);
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], CodecError> {
    Ok(take(input, N)?.try_into().expect("took N bytes"))
}

fn take_char(input: &mut &[u8]) -> Result<char, CodecError> {
    let first = *input.first().ok_or(CodecError::Truncated)?;
    let len = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return Err(CodecError::Malformed { what: "char" }),
    };
    let bytes = take(input, len)?;
    let s = std::str::from_utf8(bytes).map_err(|_| CodecError::Malformed { what: "char" })?;
    Ok(s.chars().next().expect("one char"))
}

/// A length prefix, checked against the bytes left: each of the `n`
/// elements takes at least `elem_min` bytes.
pub(super) fn take_len(input: &mut &[u8], elem_min: usize) -> Result<usize, CodecError> {
    let n = take_uleb(input, 32)?;
    let fits = if elem_min == 0 {
        n <= MAX_EMPTY_ELEMENTS
    } else {
        n.saturating_mul(elem_min as u64) <= input.len() as u64
    };
    if !fits {
        return Err(CodecError::Truncated);
    }
    Ok(n as usize)
}

pub(super) fn narrow<T: TryFrom<W>, W>(v: W, what: &'static str) -> Result<T, CodecError> {
    T::try_from(v).map_err(|_| CodecError::Malformed { what })
}

/// Appends a length prefix (a `u32`).
pub(crate) fn put_len(out: &mut Vec<u8>, n: usize) -> Result<(), CodecError> {
    let n =
        u32::try_from(n).map_err(|_| CodecError::Mismatch("a list longer than u32::MAX".into()))?;
    put_uleb(out, u64::from(n));
    Ok(())
}

fn type_kind(ty: &Type) -> String {
    format!("{ty:?}")
        .split(['(', ' '])
        .next()
        .unwrap_or("?")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_encode_as_wrpc_does() {
        let mut out = Vec::new();
        encode(&Val::U32(300), &Type::U32, &mut out).unwrap();
        encode(&Val::String("hi".into()), &Type::String, &mut out).unwrap();
        encode(&Val::Char('é'), &Type::Char, &mut out).unwrap();
        encode(&Val::S8(-1), &Type::S8, &mut out).unwrap();
        encode(&Val::Float32(1.0), &Type::Float32, &mut out).unwrap();
        assert_eq!(
            out,
            [
                0xac, 0x02, 2, b'h', b'i', 0xc3, 0xa9, 0xff, 0, 0, 0x80, 0x3f
            ]
        );
        let types = [Type::U32, Type::String, Type::Char, Type::S8, Type::Float32];
        assert_eq!(
            decode_all(&out, &types).unwrap(),
            [
                Val::U32(300),
                Val::String("hi".into()),
                Val::Char('é'),
                Val::S8(-1),
                Val::Float32(1.0)
            ]
        );
    }

    #[test]
    fn hostile_lengths_and_bytes_are_refused() {
        // A string claiming 4 GiB with two bytes present.
        assert_eq!(
            decode_all(&[0xff, 0xff, 0xff, 0xff, 0x0f, b'a', b'b'], &[Type::String]),
            Err(CodecError::Truncated)
        );
        assert_eq!(
            decode_all(&[2, 0xff, 0xfe], &[Type::String]),
            Err(CodecError::Malformed { what: "string" })
        );
        assert_eq!(
            decode_all(&[2], &[Type::Bool]),
            Err(CodecError::Malformed { what: "bool" })
        );
        assert_eq!(
            decode_all(&[1, 2], &[Type::Bool]),
            Err(CodecError::Trailing(1))
        );
        assert_eq!(
            decode_all(&[0xed, 0xa0, 0x80], &[Type::Char]),
            Err(CodecError::Malformed { what: "char" })
        );
        assert_eq!(decode_all(&[], &[Type::U64]), Err(CodecError::Truncated));
    }
}
