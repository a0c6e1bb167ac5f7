//! `text-filter`: byte-stream filters behind `example:text/filter`, the
//! sidecar of the stream example. Memory stays constant for any size: each
//! function works chunk by chunk.

wit_bindgen::generate!({ path: "../text/wit", world: "text-filter" });

use exports::example::text::filter::Guest;
use wit_bindgen::{StreamReader, StreamResult};

struct Filter;

impl Guest for Filter {
    async fn upper(input: StreamReader<u8>) -> StreamReader<u8> {
        let (tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(stream_util::pump(input, tx, |chunk| {
            chunk.make_ascii_uppercase()
        }));
        rx
    }

    async fn count(mut input: StreamReader<u8>) -> u64 {
        let mut total = 0u64;
        let mut buf = Vec::with_capacity(stream_util::CHUNK);
        loop {
            let (status, mut chunk) = input.read(buf).await;
            total += chunk.len() as u64;
            if matches!(status, StreamResult::Dropped) {
                return total;
            }
            chunk.clear();
            buf = chunk;
        }
    }

    async fn repeat(byte: u8, n: u64) -> StreamReader<u8> {
        let (mut tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(async move {
            let mut left = n;
            while left > 0 {
                let len = left.min(stream_util::CHUNK as u64) as usize;
                if !tx.write_all(vec![byte; len]).await.is_empty() {
                    return; // the reader went away
                }
                left -= len as u64;
            }
        });
        rx
    }
}

export!(Filter);
