//! `stream<u8>` values across hosts, chunk by chunk.
//!
//! wRPC sends a stream that is not complete when its call starts as the
//! byte `0x00` in the root message (pending), then as `list<u8>` chunks in
//! frames on the stream's own path (`[i]` for the `i`-th parameter or
//! result), ending with an empty chunk. A peer may also send a stream whole
//! in the root message (`0x01` and a `list<u8>`).
//!
//! On each host the bytes flow between a guest's stream and the network
//! through bounded channels: a [`ChunkConsumer`] takes what a guest writes
//! and frames it; a [`Demux`] reads frames off a connection and routes each
//! stream's chunks to a [`ChunkProducer`], which a guest reads. A guest that
//! reads slowly stops the channel, the channel stops the socket reads, and
//! TCP stops the sender: memory per stream stays bounded by
//! [`CHANNEL_CHUNKS`] chunks of at most [`CHUNK`] bytes.
//!
//! Chunk buffers are reused (see [`crate::wire::buffers`]): each byte is copied once
//! from the guest into a framed buffer, and once from a frame read off the
//! socket into the reading guest.

use crate::wire::frame::{self, CHUNK, ERROR_PATH};
use crate::wire::leb128::{put_uleb, take_uleb};
use crate::wire::value::Slot;
use crate::wire::{CodecError, WireError, buffers};
use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use nanopod_host::LinkFailure;
use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncWrite, AsyncWriteExt};
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Destination, Source, StreamConsumer, StreamProducer, StreamResult, VecBuffer,
};

/// Chunks a stream's channel holds before its writer waits.
pub const CHANNEL_CHUNKS: usize = 16;

/// What a stream's channel carries towards the guest that reads it.
#[derive(Debug)]
pub enum Piece {
    /// The next bytes.
    Data(Chunk),
    /// The stream ended as its writer meant it to.
    End,
    /// The stream broke off; the reason, for the reader's trap.
    Failed(String),
}

/// The bytes of a chunk: `buf[from..]`. (A frame read off the socket is
/// passed on as it is, its length prefix skipped, not copied.)
pub struct Chunk {
    buf: Vec<u8>,
    from: usize,
}

impl Chunk {
    /// A chunk of `buf[from..]`.
    pub fn new(buf: Vec<u8>, from: usize) -> Self {
        debug_assert!(from <= buf.len());
        Chunk { buf, from }
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.from..]
    }
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chunk({:?})", self.bytes())
    }
}

/// Appends one frame carrying `chunk` of the stream on `path` (an empty
/// `chunk` ends the stream): the frame's data is the chunk as a
/// `list<u8>`, its length and its bytes.
pub fn put_chunk(out: &mut Vec<u8>, path: &[u32], chunk: &[u8]) {
    let mut len = Vec::with_capacity(5);
    put_uleb(&mut len, chunk.len() as u64);
    frame::put_frame_header(out, path, len.len() + chunk.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(chunk);
}

/// A top-level parameter or result once its root message has arrived.
pub enum Arrived {
    /// An ordinary value.
    Value(wasmtime::component::Val),
    /// A `stream<u8>`: its pieces, as they arrive.
    Stream(mpsc::Receiver<Piece>),
}

/// Turns the slots of a root message into values and stream channels; the
/// pending streams' chunks will come through `demux`.
pub fn arrive(slots: Vec<Slot>, demux: &mut Demux) -> Vec<Arrived> {
    let mut arrived = Vec::with_capacity(slots.len());
    for (i, slot) in slots.into_iter().enumerate() {
        arrived.push(match slot {
            Slot::Value(v) => Arrived::Value(v),
            Slot::ReadyStream(bytes) => {
                let (mut tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
                // Two pieces fit a fresh channel.
                let _ = tx.try_send(Piece::Data(Chunk::new(bytes, 0)));
                let _ = tx.try_send(Piece::End);
                Arrived::Stream(rx)
            }
            Slot::PendingStream => {
                let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
                demux.expect(i as u32, tx);
                Arrived::Stream(rx)
            }
        });
    }
    arrived
}

/// Writes the framed chunks of each `(index, chunks)` stream as they come,
/// and each stream's end once its channel closes.
pub async fn send_all(
    mut w: impl AsyncWrite + Unpin,
    streams: Vec<(u32, mpsc::Receiver<Vec<u8>>)>,
) -> std::io::Result<()> {
    let mut all = futures::stream::select_all(streams.into_iter().map(|(i, rx)| {
        let mut end = Vec::new();
        put_chunk(&mut end, &[i], &[]);
        rx.chain(futures::stream::iter([end]))
    }));
    while let Some(bytes) = all.next().await {
        w.write_all(&bytes).await?;
        buffers::give(bytes);
    }
    w.flush().await
}

/// Hands a stream's pieces to the guest that reads it, straight into the
/// guest's read buffer.
pub struct ChunkProducer {
    rx: mpsc::Receiver<Piece>,
    /// The chunk being handed over, and how far.
    pending: Chunk,
    at: usize,
    context: String,
}

impl ChunkProducer {
    /// A producer of the pieces from `rx`; a failure traps the reading
    /// guest with `"{context}: {reason}"`.
    pub fn new(rx: mpsc::Receiver<Piece>, context: &str) -> Self {
        ChunkProducer {
            rx,
            pending: Chunk::new(Vec::new(), 0),
            at: 0,
            context: context.to_string(),
        }
    }

    /// The trap for a stream that broke off: a failure of the link, not
    /// of the guest.
    fn broken(&self, why: &str) -> wasmtime::Error {
        wasmtime::Error::new(LinkFailure(format!("{}: {why}", self.context)))
    }
}

impl<D: 'static> StreamProducer<D> for ChunkProducer {
    type Item = u8;
    type Buffer = VecBuffer<u8>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<'a, D>,
        dst: Destination<'a, u8, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        while this.at == this.pending.buf.len() {
            match this.rx.poll_next_unpin(cx) {
                Poll::Ready(Some(Piece::Data(chunk))) => {
                    this.at = chunk.from;
                    buffers::give(std::mem::replace(&mut this.pending, chunk).buf);
                }
                Poll::Ready(Some(Piece::End)) => return Poll::Ready(Ok(StreamResult::Dropped)),
                Poll::Ready(Some(Piece::Failed(why))) => {
                    return Poll::Ready(Err(this.broken(&why)));
                }
                Poll::Ready(None) => {
                    return Poll::Ready(Err(this.broken("the stream was cut off before its end")));
                }
                Poll::Pending if finish => return Poll::Ready(Ok(StreamResult::Cancelled)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let mut direct = dst.as_direct(store, CHUNK);
        let buf = direct.remaining();
        // A zero-length read asks whether bytes are ready: they are.
        let n = buf.len().min(this.pending.buf.len() - this.at);
        buf[..n].copy_from_slice(&this.pending.buf[this.at..this.at + n]);
        direct.mark_written(n);
        this.at += n;
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// Takes what a guest writes to a stream and sends it as frames on `path`,
/// at most [`CHUNK`] bytes each. Dropped by wasmtime when the writer closes
/// the stream, which resolves its [`oneshot`] receiver.
pub struct ChunkConsumer {
    path: Vec<u32>,
    tx: mpsc::Sender<Vec<u8>>,
    _done: oneshot::Sender<()>,
}

impl ChunkConsumer {
    /// A consumer framing onto `tx`, and what resolves once it is dropped.
    pub fn new(path: Vec<u32>, tx: mpsc::Sender<Vec<u8>>) -> (Self, oneshot::Receiver<()>) {
        let (done, dropped) = oneshot::channel();
        (
            ChunkConsumer {
                path,
                tx,
                _done: done,
            },
            dropped,
        )
    }
}

impl<D: 'static> StreamConsumer<D> for ChunkConsumer {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<D>,
        source: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        match this.tx.poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            // Nobody reads any more: the connection is gone.
            Poll::Ready(Err(_)) => return Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Pending if finish => return Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => return Poll::Pending,
        }
        let mut direct = source.as_direct(store);
        let buf = direct.remaining();
        let n = buf.len().min(CHUNK);
        if n == 0 {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let mut framed = buffers::take();
        put_chunk(&mut framed, &this.path, &buf[..n]);
        direct.mark_read(n);
        match this.tx.start_send(framed) {
            Ok(()) => Poll::Ready(Ok(StreamResult::Completed)),
            Err(_) => Poll::Ready(Ok(StreamResult::Dropped)),
        }
    }
}

/// Routes the stream frames of one call, read off its connection, to the
/// channels of the streams they belong to. A stream whose reader went away
/// is abandoned: its later frames are dropped, and the demux ends once
/// every stream has ended or been abandoned, which lets the connection
/// close and tells the sender to stop.
#[derive(Default)]
pub struct Demux {
    streams: HashMap<u32, Incoming>,
    abandoned: HashSet<u32>,
}

/// Where a stream stands after a frame.
enum Progress {
    Open,
    Ended,
    Abandoned,
}

struct Incoming {
    tx: mpsc::Sender<Piece>,
    /// Bytes of a chunk split across frames.
    buf: Vec<u8>,
}

impl Demux {
    /// Expects the stream of top-level value `index`; its pieces go to `tx`.
    pub fn expect(&mut self, index: u32, tx: mpsc::Sender<Piece>) {
        self.streams.insert(
            index,
            Incoming {
                tx,
                buf: Vec::new(),
            },
        );
    }

    /// Whether no stream is expected.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Reads frames until every expected stream has ended, waiting at most
    /// `patience` for each. On any failure every stream still open gets
    /// [`Piece::Failed`] with the reason, which is also returned.
    pub async fn run(
        mut self,
        r: &mut (impl AsyncBufRead + Unpin),
        patience: Duration,
    ) -> Result<(), WireError> {
        let outcome = self.route(r, patience).await;
        if let Err(e) = &outcome {
            // A full channel loses the reason, not the failure: its reader
            // then sees the channel close before the end.
            for (_, mut s) in self.streams.drain() {
                let _ = s.tx.try_send(Piece::Failed(e.to_string()));
            }
        }
        outcome
    }

    async fn route(
        &mut self,
        r: &mut (impl AsyncBufRead + Unpin),
        patience: Duration,
    ) -> Result<(), WireError> {
        while !self.streams.is_empty() {
            let frame = tokio::time::timeout(patience, frame::read_frame(r))
                .await
                .map_err(|_| {
                    WireError::Protocol(format!("no stream data for {}s", patience.as_secs_f64()))
                })??
                .ok_or(WireError::Closed)?;
            let index = match frame.path.as_slice() {
                [ERROR_PATH] => {
                    return Err(WireError::Remote(
                        String::from_utf8_lossy(&frame.data).into_owned(),
                    ));
                }
                [i] if self.streams.contains_key(i) => *i,
                [i] if self.abandoned.contains(i) => continue,
                path => {
                    return Err(WireError::Protocol(format!(
                        "a frame on path {path:?}, where no stream is open"
                    )));
                }
            };
            let stream = self.streams.get_mut(&index).expect("checked above");
            let progress = match whole_chunk(&frame.data) {
                // The common case, one chunk per frame: passed on as it is.
                Some(from) if stream.buf.is_empty() => {
                    let chunk = Chunk::new(frame.data, from);
                    if stream.tx.send(Piece::Data(chunk)).await.is_err() {
                        Progress::Abandoned
                    } else {
                        Progress::Open
                    }
                }
                _ => {
                    stream.buf.extend_from_slice(&frame.data);
                    buffers::give(frame.data);
                    stream.deliver().await?
                }
            };
            match progress {
                Progress::Open => {}
                Progress::Ended => drop(self.streams.remove(&index)),
                Progress::Abandoned => {
                    self.streams.remove(&index);
                    self.abandoned.insert(index);
                }
            }
        }
        Ok(())
    }
}

/// Where the bytes start if `data` is exactly one non-empty chunk (its
/// length, then that many bytes).
fn whole_chunk(data: &[u8]) -> Option<usize> {
    let mut rest = data;
    let len = take_uleb(&mut rest, 32).ok()? as usize;
    if len > 0 && rest.len() == len {
        Some(data.len() - len)
    } else {
        None
    }
}

impl Incoming {
    /// Sends every whole chunk in the buffer to the stream's reader.
    async fn deliver(&mut self) -> Result<Progress, WireError> {
        loop {
            let mut rest = &self.buf[..];
            let len = match take_uleb(&mut rest, 32) {
                Ok(n) => n as usize,
                Err(CodecError::Truncated) => return Ok(Progress::Open),
                Err(e) => return Err(e.into()),
            };
            if rest.len() < len {
                if len > frame::MAX_MESSAGE {
                    return Err(WireError::TooLarge);
                }
                return Ok(Progress::Open);
            }
            if len == 0 {
                if !rest.is_empty() {
                    return Err(CodecError::Trailing(rest.len()).into());
                }
                // The reader may be gone already; that is its business.
                let _ = self.tx.send(Piece::End).await;
                return Ok(Progress::Ended);
            }
            let mut chunk = buffers::take();
            chunk.extend_from_slice(&rest[..len]);
            let used = self.buf.len() - rest.len() + len;
            self.buf.drain(..used);
            if self
                .tx
                .send(Piece::Data(Chunk::new(chunk, 0)))
                .await
                .is_err()
            {
                return Ok(Progress::Abandoned);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_split_across_frames_are_reassembled_in_order() {
        let mut wire = Vec::new();
        // One chunk of 5 bytes split over two frames, then one of 2, then
        // the end.
        let mut data = Vec::new();
        put_uleb(&mut data, 5);
        data.extend_from_slice(b"hello");
        frame::put_frame(&mut wire, &[1], &data[..3]);
        frame::put_frame(&mut wire, &[1], &data[3..]);
        put_chunk(&mut wire, &[1], b"!!");
        put_chunk(&mut wire, &[1], b"");
        let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
        let mut demux = Demux::default();
        demux.expect(1, tx);
        demux
            .run(&mut &wire[..], Duration::from_secs(1))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(p) = rx.next().await {
            got.push(format!("{p:?}"));
        }
        assert_eq!(
            got,
            [
                "Data(Chunk([104, 101, 108, 108, 111]))",
                "Data(Chunk([33, 33]))",
                "End"
            ]
        );
    }

    #[test]
    fn a_reused_chunk_buffer_never_shows_an_earlier_streams_bytes() {
        for _ in 0..64 {
            let mut used = buffers::take();
            used.extend_from_slice(&[0xAB; 1000]);
            buffers::give(used);
        }
        for _ in 0..64 {
            let b = buffers::take();
            assert!(b.is_empty());
            assert!(b.capacity() >= CHUNK);
        }
    }

    #[tokio::test]
    async fn a_cut_off_stream_fails_its_reader() {
        let mut wire = Vec::new();
        put_chunk(&mut wire, &[0], b"part");
        let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
        let mut demux = Demux::default();
        demux.expect(0, tx);
        let err = demux
            .run(&mut &wire[..], Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::Closed));
        assert!(matches!(rx.next().await, Some(Piece::Data(_))));
        assert!(matches!(rx.next().await, Some(Piece::Failed(m)) if m.contains("closed")));
    }

    #[tokio::test]
    async fn a_stream_whose_reader_went_away_is_abandoned_not_read_to_its_end() {
        // Chunks on [0], whose reader is gone, and nothing more: the demux
        // stops at the first chunk it cannot deliver instead of waiting
        // for the stream's end.
        let mut wire = Vec::new();
        put_chunk(&mut wire, &[0], b"unwanted");
        put_chunk(&mut wire, &[0], b"more");
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        drop(rx);
        let mut demux = Demux::default();
        demux.expect(0, tx);
        demux
            .run(&mut &wire[..], Duration::from_secs(1))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn frames_for_no_open_stream_and_error_frames_are_refused() {
        let mut wire = Vec::new();
        put_chunk(&mut wire, &[7], b"x");
        let (tx, _rx) = mpsc::channel(CHANNEL_CHUNKS);
        let mut demux = Demux::default();
        demux.expect(0, tx);
        let err = demux.run(&mut &wire[..], Duration::from_secs(1)).await;
        assert!(matches!(err, Err(WireError::Protocol(m)) if m.contains("[7]")));

        let mut wire = Vec::new();
        frame::put_error(&mut wire, "it trapped");
        let (tx, _rx) = mpsc::channel(CHANNEL_CHUNKS);
        let mut demux = Demux::default();
        demux.expect(0, tx);
        let err = demux.run(&mut &wire[..], Duration::from_secs(1)).await;
        assert!(matches!(err, Err(WireError::Remote(m)) if m == "it trapped"));
    }
}
