//! `identity`: copies its input stream to its output unchanged. The
//! benchmark of the host's own stream overhead (bench/bench.py).

wit_bindgen::generate!({ path: "../wit", world: "identity" });

use wit_bindgen::StreamReader;

struct Identity;

impl Guest for Identity {
    async fn identity(input: StreamReader<u8>) -> StreamReader<u8> {
        let (tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(stream_util::pump(input, tx, |_| {}));
        rx
    }
}

export!(Identity);
