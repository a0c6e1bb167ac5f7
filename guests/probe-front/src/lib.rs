//! `probe-front`: the front of the per-component grant tests. It probes
//! with its own grants and asks the `probe` sidecar to probe with its own,
//! as typed exports (`up`) and over HTTP (`serve`):
//! `GET /WHO/WHAT/ARG`, WHO `front` or `sidecar`, WHAT `read` (ARG a path
//! without its leading `/`), `env` or `fetch` (ARG an authority), answers
//! 200 with the outcome in Rust's debug form (`Ok("…")`, `Err("NotFound")`,
//! `None`).

wit_bindgen::generate!({ path: "../probe/wit", world: "front" });

#[path = "../../probe/src/reach.rs"]
mod reach;

use example::probe::probe as sidecar;
use http_util::respond;
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

struct Front;

impl Guest for Front {
    fn read_file(path: String) -> Result<String, String> {
        reach::read(&path)
    }

    fn env_var(name: String) -> Option<String> {
        reach::env_var(&name)
    }

    fn fetch(authority: String) -> Result<u16, String> {
        reach::fetch(&authority)
    }

    fn sidecar_read_file(path: String) -> Result<String, String> {
        sidecar::read(&path)
    }

    fn sidecar_env_var(name: String) -> Option<String> {
        sidecar::env_var(&name)
    }

    fn sidecar_fetch(authority: String) -> Result<u16, String> {
        sidecar::fetch(&authority)
    }

    fn list_preopens(n: u32) -> u32 {
        let mut seen = 0;
        for _ in 0..n {
            seen = wasip2::filesystem::preopens::get_directories().len() as u32;
        }
        seen
    }

    fn list_environment(n: u32) -> u32 {
        let mut seen = 0;
        for _ in 0..n {
            seen = wasip2::cli::environment::get_environment().len() as u32;
        }
        seen
    }
}

export!(Front);

wasip2::http::proxy::export!(Front);

impl wasip2::exports::http::incoming_handler::Guest for Front {
    fn handle(req: IncomingRequest, out: ResponseOutparam) {
        let path = req.path_with_query().unwrap_or_default();
        let mut parts = path.trim_start_matches('/').splitn(3, '/');
        let (who, what, arg) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
        let outcome = match (who, what) {
            (Some("front"), Some("read")) => format!("{:?}", reach::read(&format!("/{arg}"))),
            (Some("front"), Some("env")) => format!("{:?}", reach::env_var(arg)),
            (Some("front"), Some("fetch")) => format!("{:?}", reach::fetch(arg)),
            (Some("sidecar"), Some("read")) => format!("{:?}", sidecar::read(&format!("/{arg}"))),
            (Some("sidecar"), Some("env")) => format!("{:?}", sidecar::env_var(arg)),
            (Some("sidecar"), Some("fetch")) => format!("{:?}", sidecar::fetch(arg)),
            _ => return respond(out, 404, &[], b"not found\n"),
        };
        respond(out, 200, &[], outcome.as_bytes());
    }
}
