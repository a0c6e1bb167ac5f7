//! `upper`: a stream-to-stream filter. It reads its input in chunks and
//! writes each chunk upper-cased, so memory stays constant for any size.

wit_bindgen::generate!({ path: "../wit", world: "upper" });

use wit_bindgen::StreamReader;

struct Upper;

impl Guest for Upper {
    async fn upper(input: StreamReader<u8>) -> StreamReader<u8> {
        let (tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(stream_util::pump(input, tx, |chunk| {
            chunk.make_ascii_uppercase()
        }));
        rx
    }
}

export!(Upper);
