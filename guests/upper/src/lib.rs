//! `upper`: a stream-to-stream filter. It reads its input in chunks and
//! writes each chunk upper-cased, so memory stays constant for any size.

wit_bindgen::generate!({ path: "../wit", world: "upper" });

use wit_bindgen::{StreamReader, StreamResult};

struct Upper;

/// Bytes read from the input per chunk.
const CHUNK: usize = 256 * 1024;

impl Guest for Upper {
    async fn upper(mut input: StreamReader<u8>) -> StreamReader<u8> {
        let (mut tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(async move {
            let mut buf = Vec::with_capacity(CHUNK);
            loop {
                let (status, mut chunk) = input.read(buf).await;
                if let StreamResult::Dropped = status {
                    if chunk.is_empty() {
                        break;
                    }
                }
                chunk.make_ascii_uppercase();
                let rest = tx.write_all(chunk).await;
                if !rest.is_empty() {
                    break; // the reader went away
                }
                if let StreamResult::Dropped = status {
                    break;
                }
                buf = Vec::with_capacity(CHUNK);
            }
        });
        rx
    }
}

export!(Upper);
