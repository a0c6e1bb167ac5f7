//! `text-client`: the app of the stream example. It imports
//! `example:text/filter` and hands it streams; whether the filter runs in
//! the pod or on another host is the pod manifest's business.

wit_bindgen::generate!({ path: "../text/wit", world: "text-client" });

use example::text::filter;
use wit_bindgen::StreamReader;

struct Client;

impl Guest for Client {
    async fn shout(input: StreamReader<u8>) -> StreamReader<u8> {
        filter::upper(input).await
    }

    async fn measure(input: StreamReader<u8>) -> u64 {
        filter::count(input).await
    }

    async fn fill(byte: u8, n: u64) -> StreamReader<u8> {
        filter::repeat(byte, n).await
    }
}

export!(Client);
