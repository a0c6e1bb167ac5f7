//! `p3-http-app`: a small JSON API as a WASI 0.3 `wasi:http/handler`.
//! `GET /items` lists items; `GET /hits` says how many requests this
//! instance has handled, to show whether instances are fresh or reused;
//! any other path is 404; a request with the header `x-trap` makes it
//! trap, to show a trap fails only its request; one with `x-spin` computes
//! forever, to show `--timeout` ends it.

wit_bindgen::generate!({ path: "../p3-http/wit", world: "app", generate_all });

use std::sync::atomic::{AtomicU32, Ordering};
use wasi::http::types::{ErrorCode, Request, Response};

/// Requests this instance has handled.
static HITS: AtomicU32 = AtomicU32::new(0);

include!("../../p3-http/respond.rs");

struct App;

impl exports::wasi::http::handler::Guest for App {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let hits = HITS.fetch_add(1, Ordering::Relaxed) + 1;
        if !request.get_headers().get("x-trap").is_empty() {
            panic!("asked to trap");
        }
        if !request.get_headers().get("x-spin").is_empty() {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        let path = request.get_path_with_query().unwrap_or_default();
        Ok(match path.as_str() {
            "/items" => respond(200, r#"{"items":["apple","banana","cherry"]}"#.to_string()),
            "/hits" => respond(200, format!(r#"{{"hits":{hits}}}"#)),
            _ => respond(404, format!(r#"{{"error":"no route for {path}"}}"#)),
        })
    }
}

export!(App);
