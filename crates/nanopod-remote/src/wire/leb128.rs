//! LEB128 integers, the one implementation: over byte slices for values,
//! and over async readers for frame headers.

use super::{CodecError, WireError};
use tokio::io::{AsyncBufRead, AsyncReadExt};

/// Reads an unsigned LEB128 number of at most `bits` bits.
pub(crate) fn take_uleb(input: &mut &[u8], bits: u32) -> Result<u64, CodecError> {
    let mut result = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = take_byte(input)?;
        let low = u64::from(byte & 0x7f);
        if shift >= bits || (shift > 0 && bits - shift < 7 && low >> (bits - shift) != 0) {
            return Err(CodecError::Malformed { what: "integer" });
        }
        result |= low << shift;
        if byte & 0x80 == 0 {
            return Ok(result);
        }
        shift += 7;
    }
}

/// Reads a signed LEB128 number of at most `bits` bits.
pub(crate) fn take_sleb(input: &mut &[u8], bits: u32) -> Result<i64, CodecError> {
    let mut result = 0i64;
    let mut shift = 0u32;
    loop {
        let byte = take_byte(input)?;
        if shift >= bits {
            return Err(CodecError::Malformed { what: "integer" });
        }
        result |= i64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            if shift < 64 && byte & 0x40 != 0 {
                result |= -1i64 << shift;
            }
            let (min, max) = if bits == 64 {
                (i64::MIN, i64::MAX)
            } else {
                (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
            };
            if result < min || result > max {
                return Err(CodecError::Malformed { what: "integer" });
            }
            return Ok(result);
        }
    }
}

/// Appends `v` as unsigned LEB128.
pub(crate) fn put_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(crate) fn put_sleb(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(crate) fn take_byte(input: &mut &[u8]) -> Result<u8, CodecError> {
    let (&b, rest) = input.split_first().ok_or(CodecError::Truncated)?;
    *input = rest;
    Ok(b)
}

/// Reads a LEB128 number, or `None` at a clean end of stream.
pub(crate) async fn read_first_uleb(
    r: &mut (impl AsyncBufRead + Unpin),
) -> Result<Option<u64>, WireError> {
    let mut first = [0u8];
    if r.read(&mut first).await? == 0 {
        return Ok(None);
    }
    if first[0] & 0x80 == 0 {
        return Ok(Some(u64::from(first[0])));
    }
    let rest = read_uleb(r, 57).await?;
    Ok(Some(u64::from(first[0] & 0x7f) | (rest << 7)))
}

/// Reads an unsigned LEB128 number of at most `bits` bits.
pub(crate) async fn read_uleb(
    r: &mut (impl AsyncBufRead + Unpin),
    bits: u32,
) -> Result<u64, WireError> {
    let mut bytes = Vec::with_capacity(10);
    loop {
        let b = r.read_u8().await.map_err(eof_is_closed)?;
        bytes.push(b);
        if b & 0x80 == 0 {
            break;
        }
        if bytes.len() >= 10 {
            return Err(WireError::Protocol("an over-long integer".into()));
        }
    }
    Ok(take_uleb(&mut &bytes[..], bits)?)
}

pub(crate) fn eof_is_closed(e: std::io::Error) -> WireError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        WireError::Closed
    } else {
        WireError::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_matches_the_spec_examples() {
        let mut out = Vec::new();
        put_uleb(&mut out, 624_485);
        assert_eq!(out, [0xe5, 0x8e, 0x26]);
        out.clear();
        put_sleb(&mut out, -123_456);
        assert_eq!(out, [0xc0, 0xbb, 0x78]);
        assert_eq!(take_sleb(&mut &out[..], 32), Ok(-123_456));
        assert_eq!(take_uleb(&mut &[0xe5, 0x8e, 0x26][..], 32), Ok(624_485));
    }

    #[test]
    fn leb128_rejects_overlong_and_out_of_range() {
        // 2^32 does not fit in a u32.
        assert!(take_uleb(&mut &[0x80, 0x80, 0x80, 0x80, 0x10][..], 32).is_err());
        // Six bytes for a u32.
        assert!(take_uleb(&mut &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00][..], 32).is_err());
        assert_eq!(
            take_uleb(&mut &[0xff, 0xff, 0xff, 0xff, 0x0f][..], 32),
            Ok(u64::from(u32::MAX))
        );
        assert_eq!(take_uleb(&mut &[0x80][..], 32), Err(CodecError::Truncated));
        // 40000 does not fit in an s16.
        let mut out = Vec::new();
        put_sleb(&mut out, 40_000);
        assert!(take_sleb(&mut &out[..], 16).is_err());
        for v in [i64::MIN, i64::MAX, -1, 0, 63, 64, -64, -65] {
            out.clear();
            put_sleb(&mut out, v);
            assert_eq!(take_sleb(&mut &out[..], 64), Ok(v), "{v}");
        }
        for v in [u64::MAX, 0, 127, 128] {
            out.clear();
            put_uleb(&mut out, v);
            assert_eq!(take_uleb(&mut &out[..], 64), Ok(v), "{v}");
        }
    }
}
