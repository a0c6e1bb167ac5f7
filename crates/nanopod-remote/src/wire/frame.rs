//! wRPC framing over one byte stream.
//!
//! An invocation is the version byte `0x00`, the instance and function
//! names (length-prefixed UTF-8), then frames: a LEB128 path length, the
//! path's LEB128 indices, a LEB128 data length and the data. Parameters and
//! results travel on the root path `[]`, in frames of at most [`CHUNK`]
//! bytes, so a large payload never needs one huge frame.
//!
//! Two nanopod extensions, both ignorable by other wRPC peers:
//! - [`ERROR_PATH`]: instead of results, the exporter may send one frame on
//!   this path carrying a one-line UTF-8 reason (the component trapped, the
//!   function is not exposed), then close the connection.
//! - [`TOKEN_PREAMBLE`]: a client of an exporter that requires a token
//!   sends this byte and the token (length-prefixed) once per connection,
//!   before its first invocation.
//!
//! Connections may carry several invocations one after another: a peer
//! that shuts its write side after one (as the wRPC TCP transport does)
//! is served and closed as usual.

use super::leb128::{eof_is_closed, put_uleb, read_first_uleb, read_uleb};
use super::value::{self, Slot};
use super::{CodecError, WireError, buffers, bulk};
use nanopod_bulk::{Bulk, Kind, Returned, Returns};
use tokio::io::{AsyncBufRead, AsyncReadExt};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// The wRPC framing version.
pub const PROTOCOL: u8 = 0;
/// The path of an exporter's error frame (nanopod extension).
pub const ERROR_PATH: u32 = u32::MAX;
/// The first byte of a token preamble (nanopod extension).
pub const TOKEN_PREAMBLE: u8 = 0x7f;
/// Root data is split into frames of at most this many bytes; a frame
/// of any other size may end a message (a peer may also end one by closing).
pub const CHUNK: usize = 256 * 1024;
/// The longest instance or function name, or token, accepted.
pub const MAX_NAME: usize = 1024;
/// The largest message (all parameters, or all results) accepted.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// One frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// Where in the parameters or results the data belongs.
    pub path: Vec<u32>,
    /// The data.
    pub data: Vec<u8>,
}

/// Appends the invocation header (version byte and names).
pub fn put_header(out: &mut Vec<u8>, instance: &str, func: &str) {
    out.push(PROTOCOL);
    put_name(out, instance);
    put_name(out, func);
}

/// Appends a length-prefixed name.
pub fn put_name(out: &mut Vec<u8>, name: &str) {
    put_uleb(out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
}

/// Appends `data` as frames on `path`, at most [`CHUNK`] bytes each, the
/// last one shorter than [`CHUNK`] (empty if need be).
pub fn put_frames(out: &mut Vec<u8>, path: &[u32], data: &[u8]) {
    let mut chunks = data.chunks(CHUNK);
    loop {
        let chunk = chunks.next().unwrap_or(&[]);
        put_frame(out, path, chunk);
        if chunk.len() < CHUNK {
            return;
        }
    }
}

/// Appends `data` as one frame on `path`.
pub fn put_frame(out: &mut Vec<u8>, path: &[u32], data: &[u8]) {
    put_frame_header(out, path, data.len());
    out.extend_from_slice(data);
}

/// Appends the header of a frame on `path` whose `len` bytes of data the
/// caller appends next.
pub fn put_frame_header(out: &mut Vec<u8>, path: &[u32], len: usize) {
    put_uleb(out, path.len() as u64);
    for p in path {
        put_uleb(out, u64::from(*p));
    }
    put_uleb(out, len as u64);
}

/// Appends values as a root message: encoded, then framed.
pub fn put_message(out: &mut Vec<u8>, vals: &[Val], types: &[Type]) -> Result<(), CodecError> {
    let mut payload = Vec::new();
    value::encode_all(vals, types, &mut payload)?;
    put_frames(out, &[], &payload);
    Ok(())
}

/// Appends fast-path parameters as a root message, framed as
/// [`put_frames`] frames it, each byte copied once.
pub fn put_bulk_message(out: &mut Vec<u8>, vals: &[Bulk]) -> Result<(), CodecError> {
    put_root_pieces(out, &mut |put| bulk::encode_all(vals, put))
}

/// Appends a fast-path result as a root message, as
/// [`put_bulk_message`] does.
pub fn put_returned(
    out: &mut Vec<u8>,
    returned: &Returned,
    returns: Returns,
) -> Result<(), CodecError> {
    put_root_pieces(out, &mut |put| {
        bulk::encode_returned(returned, returns, put)
    })
}

/// A producer of a message's bytes in pieces, handed to its argument.
type Pieces<'a> = dyn FnMut(&mut dyn FnMut(&[u8])) -> Result<(), CodecError> + 'a;

/// Appends the message `pieces` produces as root frames: once to learn
/// its length (so every frame's header is known before its data), once to
/// copy the bytes into their frames.
fn put_root_pieces(out: &mut Vec<u8>, pieces: &mut Pieces<'_>) -> Result<(), CodecError> {
    let mut total = 0;
    pieces(&mut |piece| total += piece.len())?;
    if total > MAX_MESSAGE {
        return Err(CodecError::Mismatch(format!(
            "a message of {} MiB, over the {} MiB limit",
            total >> 20,
            MAX_MESSAGE >> 20
        )));
    }
    out.reserve(total + 8 * (total / CHUNK + 1));
    let start = |out: &mut Vec<u8>, left: usize| {
        let n = left.min(CHUNK);
        put_frame_header(out, &[], n);
        n
    };
    // Bytes left in the current frame and in the message; the length of
    // the last frame started.
    let mut in_frame = start(out, total);
    let (mut left, mut last) = (total, in_frame);
    pieces(&mut |mut piece| {
        while !piece.is_empty() {
            if in_frame == 0 {
                in_frame = start(out, left);
                last = in_frame;
            }
            let n = piece.len().min(in_frame);
            out.extend_from_slice(&piece[..n]);
            (in_frame, left, piece) = (in_frame - n, left - n, &piece[n..]);
        }
    })?;
    // A message that fills its last frame ends with an empty one.
    if last == CHUNK {
        put_frame_header(out, &[], 0);
    }
    Ok(())
}

/// Appends an error frame with `reason`.
pub fn put_error(out: &mut Vec<u8>, reason: &str) {
    put_frames(out, &[ERROR_PATH], reason.as_bytes());
}

/// Reads one length-prefixed name of at most [`MAX_NAME`] bytes.
pub async fn read_name(r: &mut (impl AsyncBufRead + Unpin)) -> Result<String, WireError> {
    let n = read_uleb(r, 32).await?;
    if n > MAX_NAME as u64 {
        return Err(WireError::Protocol(format!("a name of {n} bytes")));
    }
    let mut buf = vec![0; n as usize];
    r.read_exact(&mut buf).await.map_err(eof_is_closed)?;
    String::from_utf8(buf).map_err(|_| WireError::Protocol("a name that is not UTF-8".into()))
}

/// Reads the next frame; `None` when the peer closed cleanly between
/// frames.
pub async fn read_frame(r: &mut (impl AsyncBufRead + Unpin)) -> Result<Option<Frame>, WireError> {
    let Some((path, len)) = read_frame_head(r).await? else {
        return Ok(None);
    };
    // Chunk-sized frames (stream chunks) read into reused buffers; no
    // buffer is zeroed first.
    let mut data = if len >= CHUNK / 4 {
        buffers::take()
    } else {
        // Room for `read_to_end`'s last probe too.
        Vec::with_capacity(len + 32)
    };
    read_data(r, len, &mut data).await?;
    Ok(Some(Frame { path, data }))
}

/// Reads a frame's path and data length; `None` when the peer closed
/// cleanly between frames.
async fn read_frame_head(
    r: &mut (impl AsyncBufRead + Unpin),
) -> Result<Option<(Vec<u32>, usize)>, WireError> {
    let depth = match read_first_uleb(r).await? {
        None => return Ok(None),
        Some(d) => d,
    };
    if depth > 32 {
        return Err(WireError::Protocol(format!("a frame path {depth} deep")));
    }
    let mut path = Vec::with_capacity(depth as usize);
    for _ in 0..depth {
        path.push(read_uleb(r, 32).await? as u32);
    }
    let len = read_uleb(r, 64).await?;
    if len > MAX_MESSAGE as u64 {
        return Err(WireError::TooLarge);
    }
    Ok(Some((path, len as usize)))
}

/// Appends a frame's `len` bytes of data to `data`.
async fn read_data(
    r: &mut (impl AsyncBufRead + Unpin),
    len: usize,
    data: &mut Vec<u8>,
) -> Result<(), WireError> {
    let got = (&mut *r).take(len as u64).read_to_end(data).await?;
    if got != len {
        return Err(WireError::Closed);
    }
    Ok(())
}

/// Reads root frames until they hold a whole message of `types`, and
/// decodes it. An error frame becomes [`WireError::Remote`].
pub async fn read_message(
    r: &mut (impl AsyncBufRead + Unpin),
    types: &[Type],
) -> Result<Vec<Val>, WireError> {
    read_root(r, &Values(types)).await
}

/// [`read_message`] for a message whose top-level `stream<u8>` values
/// (see `crate::stream`) may follow it.
pub async fn read_slots(
    r: &mut (impl AsyncBufRead + Unpin),
    types: &[Type],
) -> Result<Vec<Slot>, WireError> {
    read_slots_within(r, types, &mut |_| Ok(())).await
}

/// [`read_slots`], calling `reserve` with each frame's size before its
/// bytes join the message: a receiver bounds what all its connections
/// buffer together by refusing there ([`WireError::OverBudget`]).
pub async fn read_slots_within(
    r: &mut (impl AsyncBufRead + Unpin),
    types: &[Type],
    reserve: &mut (dyn FnMut(usize) -> Result<(), WireError> + Send),
) -> Result<Vec<Slot>, WireError> {
    read_root_within(r, &Slots(types), reserve).await
}

/// How the bytes of a root message become values.
pub trait Decode: Sync {
    /// The values.
    type Out;
    /// Decodes a whole message; [`CodecError::Truncated`] when more
    /// bytes may follow.
    fn decode(&self, payload: &[u8]) -> Result<Self::Out, CodecError>;
    /// Whether a message of no bytes is a whole message, so a peer that
    /// closes without sending one has sent it.
    fn may_be_empty(&self) -> bool;
}

/// Parameters or results as `Val`s of these types, with top-level
/// `stream<u8>` values as [`Slot`]s.
pub struct Slots<'a>(pub &'a [Type]);

impl Decode for Slots<'_> {
    type Out = Vec<Slot>;
    fn decode(&self, payload: &[u8]) -> Result<Vec<Slot>, CodecError> {
        value::decode_slots(payload, self.0)
    }
    fn may_be_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parameters or results as `Val`s of these types.
pub struct Values<'a>(pub &'a [Type]);

impl Decode for Values<'_> {
    type Out = Vec<Val>;
    fn decode(&self, payload: &[u8]) -> Result<Vec<Val>, CodecError> {
        value::decode_all(payload, self.0)
    }
    fn may_be_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Fast-path parameters of these kinds.
pub struct BulkParams<'a>(pub &'a [Kind]);

impl Decode for BulkParams<'_> {
    type Out = Vec<Bulk>;
    fn decode(&self, payload: &[u8]) -> Result<Vec<Bulk>, CodecError> {
        bulk::decode_all(payload, self.0)
    }
    fn may_be_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A fast-path result of this type.
pub struct BulkResult(pub Returns);

impl Decode for BulkResult {
    type Out = Returned;
    fn decode(&self, payload: &[u8]) -> Result<Returned, CodecError> {
        bulk::decode_returned(payload, self.0)
    }
    fn may_be_empty(&self) -> bool {
        self.0 == Returns::Nothing
    }
}

/// Reads root frames until they hold a whole message, and decodes it with
/// `decode`, calling `reserve` as [`read_slots_within`] does. An error
/// frame becomes [`WireError::Remote`].
pub async fn read_root_within<D: Decode>(
    r: &mut (impl AsyncBufRead + Unpin),
    decode: &D,
    reserve: &mut (dyn FnMut(usize) -> Result<(), WireError> + Send),
) -> Result<D::Out, WireError> {
    let mut payload = Vec::new();
    loop {
        let Some((path, len)) = read_frame_head(r).await? else {
            // A peer may end its message by closing its side.
            return match decode.decode(&payload) {
                Ok(vals) if !payload.is_empty() || decode.may_be_empty() => Ok(vals),
                _ => Err(WireError::Closed),
            };
        };
        match path.as_slice() {
            [] => {}
            [ERROR_PATH] => {
                let mut reason = Vec::with_capacity(len.min(MAX_NAME));
                read_data(r, len, &mut reason).await?;
                return Err(WireError::Remote(
                    String::from_utf8_lossy(&reason).into_owned(),
                ));
            }
            path => {
                return Err(WireError::Protocol(format!(
                    "a frame on path {path:?}: nanopod sends and accepts whole values only"
                )));
            }
        }
        if payload.len() + len > MAX_MESSAGE {
            return Err(WireError::TooLarge);
        }
        reserve(len)?;
        // Straight into the message: a frame's bytes are copied once.
        // nanopod splits a message into frames of exactly CHUNK bytes;
        // any other size may end one (other peers send one frame of any
        // size).
        read_data(r, len, &mut payload).await?;
        if len != CHUNK {
            match decode.decode(&payload) {
                Ok(vals) => return Ok(vals),
                Err(CodecError::Truncated) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// [`read_root_within`] with no budget.
pub async fn read_root<D: Decode>(
    r: &mut (impl AsyncBufRead + Unpin),
    decode: &D,
) -> Result<D::Out, WireError> {
    read_root_within(r, decode, &mut |_| Ok(())).await
}

/// Appends a token preamble.
pub fn put_token(out: &mut Vec<u8>, token: &str) {
    out.push(TOKEN_PREAMBLE);
    put_name(out, token);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_is_laid_out_as_wrpc_does() {
        let mut out = Vec::new();
        put_header(&mut out, "foo", "bar");
        put_frames(&mut out, &[], &[1, 2]);
        // wrpc-transport's encode_invocation("foo", "bar", [1, 2]).
        assert_eq!(
            out,
            [0, 3, b'f', b'o', b'o', 3, b'b', b'a', b'r', 0, 2, 1, 2]
        );
    }

    #[tokio::test]
    async fn big_payloads_are_chunked_and_reassembled() {
        let data = vec![7u8; CHUNK * 2 + 5];
        let mut wire = Vec::new();
        put_frames(&mut wire, &[], &data);
        let mut r = &wire[..];
        let mut sizes = Vec::new();
        let mut joined = Vec::new();
        while let Some(f) = read_frame(&mut r).await.unwrap() {
            sizes.push(f.data.len());
            joined.extend(f.data);
        }
        assert_eq!(sizes, [CHUNK, CHUNK, 5]);
        assert_eq!(joined, data);

        // An exact multiple ends with an empty frame.
        wire.clear();
        put_frames(&mut wire, &[], &vec![0; CHUNK]);
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r).await.unwrap().unwrap().data.len(), CHUNK);
        assert_eq!(read_frame(&mut r).await.unwrap().unwrap().data.len(), 0);
    }

    #[tokio::test]
    async fn hostile_frames_are_refused() {
        // A frame claiming 2^40 bytes.
        let mut wire = vec![0];
        put_uleb(&mut wire, 1 << 40);
        assert!(matches!(
            read_frame(&mut &wire[..]).await,
            Err(WireError::TooLarge)
        ));
        // A path 1000 deep.
        let mut wire = Vec::new();
        put_uleb(&mut wire, 1000);
        assert!(matches!(
            read_frame(&mut &wire[..]).await,
            Err(WireError::Protocol(_))
        ));
        // A frame cut short.
        let wire = [0, 5, 1, 2];
        assert!(matches!(
            read_frame(&mut &wire[..]).await,
            Err(WireError::Closed)
        ));
        // A message that ends inside a value.
        let wire = [0, 1, 0xac];
        assert!(matches!(
            read_message(&mut &wire[..], &[Type::U32]).await,
            Err(WireError::Closed)
        ));
        // Too many bytes for the types.
        let wire = [0, 2, 1, 1];
        assert!(matches!(
            read_message(&mut &wire[..], &[Type::U8]).await,
            Err(WireError::Codec(CodecError::Trailing(1)))
        ));
        // An error frame.
        let mut wire = Vec::new();
        put_error(&mut wire, "it trapped");
        assert!(matches!(
            read_message(&mut &wire[..], &[Type::U8]).await,
            Err(WireError::Remote(m)) if m == "it trapped"
        ));
    }
}
