//! The wRPC encoding of fast-path values ([`nanopod_bulk`]): byte for byte
//! what [`value`](super::value) writes for the same values as `Val`s of
//! the same WIT types, without a `Val` per byte. A `list<u8>` or `string`
//! is its length and its bytes; encoding hands out pieces (see
//! [`encode_all`]) so the bytes are copied once, into their frames.

use super::CodecError;
use super::leb128::{put_uleb, take_byte, take_uleb};
use super::value::{narrow, put_len, take, take_len};
use nanopod_bulk::{Bulk, Kind, Returned, Returns};

/// The pieces of the encoding of `vals`, in order, handed to `put`:
/// length prefixes and the values' own bytes, so a framer can copy the
/// bytes once, straight into its frames.
pub fn encode_all(vals: &[Bulk], put: &mut dyn FnMut(&[u8])) -> Result<(), CodecError> {
    vals.iter().try_for_each(|v| encode(v, put))
}

/// The pieces of the encoding of a call's result, of type `returns`, as
/// [`encode_all`] hands them.
pub fn encode_returned(
    returned: &Returned,
    returns: Returns,
    put: &mut dyn FnMut(&[u8]),
) -> Result<(), CodecError> {
    if !returned.fits(returns) {
        return Err(CodecError::Mismatch(format!(
            "{returned:?} for {returns:?}"
        )));
    }
    match returned {
        Returned::Nothing => Ok(()),
        Returned::Value(v) => encode(v, put),
        Returned::Ok(v) => {
            put(&[0]);
            v.as_ref().map_or(Ok(()), |v| encode(v, put))
        }
        Returned::Err(message) => {
            put(&[1]);
            encode_bytes(message.as_bytes(), put)
        }
    }
}

/// Decodes values of `kinds` that fill `input` completely.
pub fn decode_all(mut input: &[u8], kinds: &[Kind]) -> Result<Vec<Bulk>, CodecError> {
    let vals = kinds
        .iter()
        .map(|k| decode(&mut input, *k))
        .collect::<Result<Vec<_>, _>>()?;
    finished(input)?;
    Ok(vals)
}

/// Decodes a result of type `returns` that fills `input` completely.
pub fn decode_returned(mut input: &[u8], returns: Returns) -> Result<Returned, CodecError> {
    let returned = match returns {
        Returns::Nothing => Returned::Nothing,
        Returns::Value(k) => Returned::Value(decode(&mut input, k)?),
        Returns::Fallible(ok) => match take_byte(&mut input)? {
            0 => Returned::Ok(ok.map(|k| decode(&mut input, k)).transpose()?),
            1 => match decode(&mut input, Kind::Text)? {
                Bulk::Text(message) => Returned::Err(message),
                _ => unreachable!("text decodes as text"),
            },
            _ => return Err(CodecError::Malformed { what: "result" }),
        },
    };
    finished(input)?;
    Ok(returned)
}

fn encode(val: &Bulk, put: &mut dyn FnMut(&[u8])) -> Result<(), CodecError> {
    match val {
        Bulk::Bytes(bytes) => encode_bytes(bytes, put),
        Bulk::Text(text) => encode_bytes(text.as_bytes(), put),
        Bulk::U32(n) => {
            let mut prefix = Vec::with_capacity(5);
            put_uleb(&mut prefix, u64::from(*n));
            put(&prefix);
            Ok(())
        }
    }
}

/// A length-prefixed byte list or string.
fn encode_bytes(bytes: &[u8], put: &mut dyn FnMut(&[u8])) -> Result<(), CodecError> {
    let mut prefix = Vec::with_capacity(5);
    put_len(&mut prefix, bytes.len())?;
    put(&prefix);
    put(bytes);
    Ok(())
}

fn decode(input: &mut &[u8], kind: Kind) -> Result<Bulk, CodecError> {
    Ok(match kind {
        Kind::Bytes => {
            let n = take_len(input, 1)?;
            Bulk::Bytes(take(input, n)?.to_vec())
        }
        Kind::Text => {
            let n = take_len(input, 1)?;
            let text = std::str::from_utf8(take(input, n)?)
                .map_err(|_| CodecError::Malformed { what: "string" })?;
            Bulk::Text(text.to_string())
        }
        Kind::U32 => Bulk::U32(narrow(take_uleb(input, 32)?, "u32")?),
    })
}

fn finished(input: &[u8]) -> Result<(), CodecError> {
    match input.len() {
        0 => Ok(()),
        n => Err(CodecError::Trailing(n)),
    }
}
