//! `p3-http-log`: a WASI 0.3 middleware that passes every request on and
//! writes one line per request to stderr: method, path and status.

wit_bindgen::generate!({ path: "../p3-http/wit", world: "middleware", generate_all });

use wasi::cli::stderr;
use wasi::http::types::{ErrorCode, Method, Request, Response};

struct Log;

impl exports::wasi::http::handler::Guest for Log {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let method = match request.get_method() {
            Method::Get => "GET".to_string(),
            Method::Post => "POST".to_string(),
            Method::Other(m) => m,
            other => format!("{other:?}").to_uppercase(),
        };
        let path = request.get_path_with_query().unwrap_or_default();
        let result = wasi::http::handler::handle(request).await;
        let status = match &result {
            Ok(response) => response.get_status_code().to_string(),
            Err(e) => format!("error {e:?}"),
        };
        let (mut tx, rx) = wit_stream::new();
        let done = stderr::write_via_stream(rx);
        tx.write_all(format!("log: {method} {path} -> {status}\n").into_bytes())
            .await;
        drop(tx);
        let _ = done.await;
        result
    }
}

export!(Log);
