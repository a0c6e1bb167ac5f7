//! `cf-stamp`: a synchronous component filter (`nanopod:http/filter`) in
//! Rust. It stamps each request with `x-stamp: rust` and the number of
//! requests its instance has seen (`x-stamp-count`: state kept across
//! requests, since nanopod reuses filter instances), answers `/deny`
//! itself with 403, and stamps responses with `x-stamped: rust`.
//!
//! For the tests of limits and misbehaviour, paths under `/cf/`:
//! `/cf/trap` panics, `/cf/spin` never returns, `/cf/grow` allocates
//! 256 MiB, `/cf/print` writes a line to stdout and stderr and goes on,
//! `/cf/sleep` sleeps a second (a synchronous filter may not wait).

wit_bindgen::generate!({
    path: "../../crates/nanopod-serve/wit",
    world: "http-filter",
});

use exports::nanopod::http::filter::Guest;
use nanopod::http::types::{Decision, LocalResponse, RequestHead, ResponseHead};
use std::sync::atomic::{AtomicU64, Ordering};

static SEEN: AtomicU64 = AtomicU64::new(0);

struct Stamp;

impl Guest for Stamp {
    fn on_request(request: &RequestHead) -> Decision {
        let seen = SEEN.fetch_add(1, Ordering::Relaxed) + 1;
        match request.path().as_str() {
            "/cf/trap" => panic!("cf-stamp was told to trap"),
            "/cf/spin" => {
                #[allow(clippy::empty_loop)]
                loop {}
            }
            "/cf/grow" => {
                let big = vec![1u8; 256 << 20];
                std::hint::black_box(&big);
            }
            "/cf/print" => {
                println!("cf-stamp prints to stdout");
                eprintln!("cf-stamp prints to stderr");
            }
            "/cf/sleep" => std::thread::sleep(std::time::Duration::from_secs(1)),
            _ => {}
        }
        if request.path() == "/deny" {
            return Decision::Respond(LocalResponse {
                status: 403,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"denied by cf-stamp\n".to_vec(),
            });
        }
        request.set_header("x-stamp", "rust");
        request.set_header("x-stamp-count", &seen.to_string());
        Decision::Continue
    }

    fn on_response(_request: &RequestHead, response: &ResponseHead) {
        response.set_header("x-stamped", "rust");
    }
}

export!(Stamp);
