//! `wasi:io`, stdio and the monotonic clock, re-exported: host streams and
//! pollables are wrapped and passed through; file streams read the image.

use crate::Adapter;
use crate::exports::wasi::io::error::{Error, GuestError};
use crate::exports::wasi::io::poll::{GuestPollable, Pollable, PollableBorrow};
use crate::exports::wasi::io::streams::{
    GuestInputStream, GuestOutputStream, InputStream, InputStreamBorrow, OutputStream, StreamError,
};
use crate::image;
use crate::wasi::io as host;
use std::cell::Cell;

/// A host stream's error (file streams never fail).
pub struct VirtError(host::error::Error);

impl GuestError for VirtError {
    fn to_debug_string(&self) -> String {
        self.0.to_debug_string()
    }
}

impl crate::exports::wasi::io::error::Guest for Adapter {
    type Error = VirtError;
}

/// A pollable: the host's, or one that is always ready (file streams never
/// block).
pub enum VirtPollable {
    Host(host::poll::Pollable),
    Ready,
}

impl VirtPollable {
    fn new(p: host::poll::Pollable) -> Pollable {
        Pollable::new(VirtPollable::Host(p))
    }
}

impl GuestPollable for VirtPollable {
    fn ready(&self) -> bool {
        match self {
            VirtPollable::Host(p) => p.ready(),
            VirtPollable::Ready => true,
        }
    }

    fn block(&self) {
        if let VirtPollable::Host(p) = self {
            p.block()
        }
    }
}

impl crate::exports::wasi::io::poll::Guest for Adapter {
    type Pollable = VirtPollable;

    fn poll(list: Vec<PollableBorrow<'_>>) -> Vec<u32> {
        let list: Vec<&VirtPollable> = list.iter().map(|p| p.get::<VirtPollable>()).collect();
        let ready: Vec<u32> = (0..list.len() as u32)
            .filter(|i| matches!(list[*i as usize], VirtPollable::Ready))
            .collect();
        if !ready.is_empty() {
            return ready;
        }
        let (indices, hosts): (Vec<u32>, Vec<&host::poll::Pollable>) = list
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                VirtPollable::Host(h) => Some((i as u32, h)),
                VirtPollable::Ready => None,
            })
            .unzip();
        host::poll::poll(&hosts)
            .into_iter()
            .map(|i| indices[i as usize])
            .collect()
    }
}

fn stream_error(e: host::streams::StreamError) -> StreamError {
    match e {
        host::streams::StreamError::Closed => StreamError::Closed,
        host::streams::StreamError::LastOperationFailed(e) => {
            StreamError::LastOperationFailed(Error::new(VirtError(e)))
        }
    }
}

/// An input stream: the host's, or a file of the image read from `pos`.
pub enum VirtInput {
    Host(host::streams::InputStream),
    File { node: u32, pos: Cell<u64> },
}

impl VirtInput {
    /// A stream over `node` from `pos`.
    pub fn file(node: u32, pos: u64) -> InputStream {
        InputStream::new(VirtInput::File {
            node,
            pos: Cell::new(pos),
        })
    }

    fn file_read(node: u32, pos: &Cell<u64>, len: u64) -> Result<Vec<u8>, StreamError> {
        let node = image::tree().node(node);
        if pos.get() >= node.size {
            return Err(StreamError::Closed);
        }
        let bytes = image::read_file(node, pos.get(), len);
        pos.set(pos.get() + bytes.len() as u64);
        Ok(bytes.to_vec())
    }

    fn file_skip(node: u32, pos: &Cell<u64>, len: u64) -> Result<u64, StreamError> {
        let size = image::tree().node(node).size;
        if pos.get() >= size {
            return Err(StreamError::Closed);
        }
        let n = len.min(size - pos.get());
        pos.set(pos.get() + n);
        Ok(n)
    }
}

impl GuestInputStream for VirtInput {
    fn read(&self, len: u64) -> Result<Vec<u8>, StreamError> {
        match self {
            VirtInput::Host(s) => s.read(len).map_err(stream_error),
            VirtInput::File { node, pos } => Self::file_read(*node, pos, len),
        }
    }

    fn blocking_read(&self, len: u64) -> Result<Vec<u8>, StreamError> {
        match self {
            VirtInput::Host(s) => s.blocking_read(len).map_err(stream_error),
            VirtInput::File { node, pos } => Self::file_read(*node, pos, len),
        }
    }

    fn skip(&self, len: u64) -> Result<u64, StreamError> {
        match self {
            VirtInput::Host(s) => s.skip(len).map_err(stream_error),
            VirtInput::File { node, pos } => Self::file_skip(*node, pos, len),
        }
    }

    fn blocking_skip(&self, len: u64) -> Result<u64, StreamError> {
        match self {
            VirtInput::Host(s) => s.blocking_skip(len).map_err(stream_error),
            VirtInput::File { node, pos } => Self::file_skip(*node, pos, len),
        }
    }

    fn subscribe(&self) -> Pollable {
        match self {
            VirtInput::Host(s) => VirtPollable::new(s.subscribe()),
            VirtInput::File { .. } => Pollable::new(VirtPollable::Ready),
        }
    }
}

/// An output stream: always the host's (the image is read-only).
pub struct VirtOutput(host::streams::OutputStream);

impl VirtOutput {
    /// Moves up to `len` bytes from `src` into this stream; `blocking`
    /// waits for room and flushes.
    fn splice_from(&self, src: &VirtInput, len: u64, blocking: bool) -> Result<u64, StreamError> {
        match src {
            VirtInput::Host(s) if blocking => self.0.blocking_splice(s, len).map_err(stream_error),
            VirtInput::Host(s) => self.0.splice(s, len).map_err(stream_error),
            VirtInput::File { node, pos } => {
                let room = if blocking {
                    len.min(4096)
                } else {
                    self.0.check_write().map_err(stream_error)?
                };
                let bytes = VirtInput::file_read(*node, pos, len.min(room))?;
                if blocking {
                    self.0
                        .blocking_write_and_flush(&bytes)
                        .map_err(stream_error)?;
                } else {
                    self.0.write(&bytes).map_err(stream_error)?;
                }
                Ok(bytes.len() as u64)
            }
        }
    }
}

impl GuestOutputStream for VirtOutput {
    fn check_write(&self) -> Result<u64, StreamError> {
        self.0.check_write().map_err(stream_error)
    }

    fn write(&self, contents: Vec<u8>) -> Result<(), StreamError> {
        self.0.write(&contents).map_err(stream_error)
    }

    fn blocking_write_and_flush(&self, contents: Vec<u8>) -> Result<(), StreamError> {
        self.0
            .blocking_write_and_flush(&contents)
            .map_err(stream_error)
    }

    fn flush(&self) -> Result<(), StreamError> {
        self.0.flush().map_err(stream_error)
    }

    fn blocking_flush(&self) -> Result<(), StreamError> {
        self.0.blocking_flush().map_err(stream_error)
    }

    fn subscribe(&self) -> Pollable {
        VirtPollable::new(self.0.subscribe())
    }

    fn write_zeroes(&self, len: u64) -> Result<(), StreamError> {
        self.0.write_zeroes(len).map_err(stream_error)
    }

    fn blocking_write_zeroes_and_flush(&self, len: u64) -> Result<(), StreamError> {
        self.0
            .blocking_write_zeroes_and_flush(len)
            .map_err(stream_error)
    }

    fn splice(&self, src: InputStreamBorrow<'_>, len: u64) -> Result<u64, StreamError> {
        self.splice_from(src.get::<VirtInput>(), len, false)
    }

    fn blocking_splice(&self, src: InputStreamBorrow<'_>, len: u64) -> Result<u64, StreamError> {
        self.splice_from(src.get::<VirtInput>(), len, true)
    }
}

impl crate::exports::wasi::io::streams::Guest for Adapter {
    type InputStream = VirtInput;
    type OutputStream = VirtOutput;
}

impl crate::exports::wasi::cli::stdin::Guest for Adapter {
    fn get_stdin() -> InputStream {
        InputStream::new(VirtInput::Host(crate::wasi::cli::stdin::get_stdin()))
    }
}

impl crate::exports::wasi::cli::stdout::Guest for Adapter {
    fn get_stdout() -> OutputStream {
        OutputStream::new(VirtOutput(crate::wasi::cli::stdout::get_stdout()))
    }
}

impl crate::exports::wasi::cli::stderr::Guest for Adapter {
    fn get_stderr() -> OutputStream {
        OutputStream::new(VirtOutput(crate::wasi::cli::stderr::get_stderr()))
    }
}

impl crate::exports::wasi::clocks::monotonic_clock::Guest for Adapter {
    fn now() -> u64 {
        crate::wasi::clocks::monotonic_clock::now()
    }

    fn resolution() -> u64 {
        crate::wasi::clocks::monotonic_clock::resolution()
    }

    fn subscribe_instant(when: u64) -> Pollable {
        VirtPollable::new(crate::wasi::clocks::monotonic_clock::subscribe_instant(
            when,
        ))
    }

    fn subscribe_duration(when: u64) -> Pollable {
        VirtPollable::new(crate::wasi::clocks::monotonic_clock::subscribe_duration(
            when,
        ))
    }
}
