//! Shared by the stream-filter guests: pump a `stream<u8>` into another in
//! large chunks, transforming each chunk in place.

use wit_bindgen::{StreamReader, StreamResult, StreamWriter};

/// Bytes read per chunk: large chunks amortise each host crossing.
pub const CHUNK: usize = 256 * 1024;

/// Copies `input` to `output` chunk by chunk, applying `map` to each chunk,
/// until the input ends or the reader of `output` goes away.
pub async fn pump(
    mut input: StreamReader<u8>,
    mut output: StreamWriter<u8>,
    mut map: impl FnMut(&mut [u8]),
) {
    let mut buf = Vec::with_capacity(CHUNK);
    loop {
        let (status, mut chunk) = input.read(buf).await;
        let ended = matches!(status, StreamResult::Dropped);
        if !chunk.is_empty() {
            map(&mut chunk);
            chunk = output.write_all(chunk).await;
            if !chunk.is_empty() {
                return; // the reader went away
            }
        }
        if ended {
            return;
        }
        // Reuse the allocation the write handed back.
        chunk.clear();
        chunk.reserve(CHUNK);
        buf = chunk;
    }
}
