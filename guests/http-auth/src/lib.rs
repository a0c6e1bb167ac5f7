//! `http-auth`: a middleware that lets a request through only with
//! `Authorization: Bearer TOKEN`, where TOKEN is the content of
//! `/secrets/token` — a file granted to this component alone.

use http_util::{forward, header, respond, trap_if_asked};
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

struct Auth;

wasip2::http::proxy::export!(Auth);

impl wasip2::exports::http::incoming_handler::Guest for Auth {
    fn handle(req: IncomingRequest, out: ResponseOutparam) {
        trap_if_asked(&req, "auth");
        let expected = match std::fs::read_to_string("/secrets/token") {
            Ok(token) => format!("Bearer {}", token.trim()),
            Err(e) => {
                eprintln!("auth: cannot read /secrets/token: {e}");
                return respond(out, 500, &[], b"auth is not configured\n");
            }
        };
        if header(&req, "authorization").as_deref() != Some(expected.as_str()) {
            return respond(
                out,
                401,
                &[("www-authenticate", "Bearer"), ("content-type", "application/json")],
                br#"{"error":"unauthorized"}"#,
            );
        }
        forward(req, out, "auth");
    }
}
