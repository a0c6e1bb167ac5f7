//! `wc`: counts lines, words and bytes of a stream and returns a record.

wit_bindgen::generate!({ path: "../wit", world: "wc" });

use exports::nanopod::examples::counting::{Counts, Guest};
use wit_bindgen::{StreamReader, StreamResult};

struct Wc;

impl Guest for Wc {
    async fn wc(mut text: StreamReader<u8>) -> Counts {
        let mut counts = Counts { lines: 0, words: 0, bytes: 0 };
        let mut in_word = false;
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            let (status, mut chunk) = text.read(buf).await;
            for &b in &chunk {
                if b == b'\n' {
                    counts.lines += 1;
                }
                let space = b.is_ascii_whitespace();
                if !space && !in_word {
                    counts.words += 1;
                }
                in_word = !space;
            }
            counts.bytes += chunk.len() as u64;
            if let StreamResult::Dropped = status {
                break;
            }
            chunk.clear();
            buf = chunk;
        }
        counts
    }
}

export!(Wc);
