//! `http-app`: the JSON API of the HTTP pod example. It knows nothing of
//! authentication or logging: the middlewares in front of it do that.
//!
//! - `GET /items`: the items, and the middlewares the request passed.
//! - `GET /file?path=P`: read a file, to show what the app was not granted.
//! - `GET /slow?ms=N`: answer after N milliseconds (a request in flight).
//! - `GET /alloc?mb=N`: touch N MiB of memory (a request past its limit).
//! - `GET /headers`: the request's headers, one per line (what filters in
//!   front of it changed).
//! - `POST /echo`: the request's body, back.
//! - `GET /hits`: the visit counter. With a key-value store named `hits`
//!   granted (`--kv hits`, or `keyvalue = ["hits"]` in pod.toml) it counts
//!   `GET /hits` requests there, persisted across restarts and shared by
//!   every instance; without one, how many requests this instance has
//!   handled (1 unless the pod reuses instances).

use http_util::{CHAIN_HEADER, header, respond, respond_json, trap_if_asked, try_request_body};
use wasip2::http::types::{IncomingRequest, Method, ResponseOutparam};

wit_bindgen::generate!({
    inline: "package nanopod:http-app;\nworld app { import wasi:keyvalue/atomics@0.2.0-draft2; }",
    path: "../../crates/nanopod-host/wit/keyvalue",
    world: "nanopod:http-app/app",
    generate_all,
});

use wasi::keyvalue::{atomics, store};

/// The visit count in the store `hits`: none when no such store is granted,
/// the store's words when it fails.
fn stored_hits() -> Option<Result<i64, String>> {
    let bucket = store::open("hits").ok()?;
    Some(atomics::increment(&bucket, "hits", 1).map_err(|e| format!("{e:?}").replace('"', "'")))
}

struct App;

/// Requests this instance has handled.
static HITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The number after `?name=` in `path`, or 0.
fn query_number(path: &str, name: &str) -> u64 {
    path.split_once(&format!("?{name}="))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

wasip2::http::proxy::export!(App);

impl wasip2::exports::http::incoming_handler::Guest for App {
    fn handle(req: IncomingRequest, out: ResponseOutparam) {
        trap_if_asked(&req, "app");
        let hits = HITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let path = req.path_with_query().unwrap_or_default();
        let chain = header(&req, CHAIN_HEADER).unwrap_or_default();
        match (req.method(), path.split_once('?').map_or(path.as_str(), |(p, _)| p)) {
            (Method::Get, "/items") => respond_json(
                out,
                200,
                &format!(r#"{{"items":["apple","pear","plum"],"chain":"{chain}"}}"#),
            ),
            (Method::Get, "/file") => {
                let file = path.split_once("?path=").map(|(_, f)| f).unwrap_or("");
                match std::fs::read_to_string(file) {
                    Ok(text) => respond_json(out, 200, &format!(r#"{{"bytes":{}}}"#, text.len())),
                    Err(e) => respond_json(out, 404, &format!(r#"{{"error":"cannot read {file}: {e}"}}"#)),
                }
            }
            (Method::Get, "/slow") => {
                std::thread::sleep(std::time::Duration::from_millis(query_number(&path, "ms")));
                respond_json(out, 200, r#"{"slept":true}"#)
            }
            (Method::Get, "/alloc") => {
                let bytes = vec![1u8; (query_number(&path, "mb") as usize) << 20];
                respond_json(out, 200, &format!(r#"{{"bytes":{}}}"#, bytes.iter().map(|b| *b as usize).sum::<usize>()))
            }
            (Method::Get, "/hits") => match stored_hits() {
                None => respond_json(out, 200, &format!(r#"{{"hits":{hits}}}"#)),
                Some(Ok(n)) => respond_json(out, 200, &format!(r#"{{"hits":{n}}}"#)),
                Some(Err(e)) => respond_json(out, 500, &format!(r#"{{"error":"hits store: {e}"}}"#)),
            },
            (Method::Get, "/headers") => {
                let lines: String = req
                    .headers()
                    .entries()
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(&v)))
                    .collect();
                respond(out, 200, &[("content-type", "text/plain")], lines.as_bytes())
            }
            (Method::Post, "/echo") => match try_request_body(&req) {
                Some(body) => respond(out, 200, &[("content-type", "application/octet-stream")], &body),
                None => respond(out, 400, &[], b"bad request: body\n"),
            },
            _ => respond_json(out, 404, r#"{"error":"not found"}"#),
        }
    }
}
