//! Reused chunk buffers. A fresh buffer of [`CHUNK`] bytes per chunk sits
//! at glibc's mmap threshold: each would be mapped, faulted in page by page
//! and unmapped again (a tenth of an exporter's time in a `perf` profile of
//! a remote `shout`). Writers give their buffers back once a chunk is on
//! the socket, readers once the guest has the bytes.

use super::frame::CHUNK;
use std::sync::{Mutex, PoisonError};

/// At most this many idle buffers are kept (8 MiB).
const KEEP: usize = 32;
/// Room for a chunk and its frame header.
const CAPACITY: usize = CHUNK + 32;

static IDLE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer with room for a framed chunk.
pub fn take() -> Vec<u8> {
    let idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop();
    idle.unwrap_or_else(|| Vec::with_capacity(CAPACITY))
}

/// Keeps `buf` for a later [`take`] if it is chunk-sized and the pool
/// is not full; frees it otherwise.
pub fn give(mut buf: Vec<u8>) {
    if !(CAPACITY..=2 * CAPACITY).contains(&buf.capacity()) {
        return;
    }
    buf.clear();
    let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
    if idle.len() < KEEP {
        idle.push(buf);
    }
}
