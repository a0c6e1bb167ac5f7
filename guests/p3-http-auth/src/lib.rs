//! `p3-http-auth`: a WASI 0.3 middleware that passes a request on only
//! when it carries `Authorization: Bearer TOKEN`, TOKEN being the variable
//! `AUTH_TOKEN` granted to this component alone; otherwise it answers 401.

wit_bindgen::generate!({ path: "../p3-http/wit", world: "middleware", generate_all });

use wasi::cli::environment;
use wasi::http::types::{ErrorCode, Request, Response};

include!("../../p3-http/respond.rs");

struct Auth;

impl exports::wasi::http::handler::Guest for Auth {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let token = environment::get_environment()
            .into_iter()
            .find(|(k, _)| k == "AUTH_TOKEN")
            .map(|(_, v)| v);
        let presented = request.get_headers().get("authorization");
        let allowed = match (&token, presented.first()) {
            (Some(t), Some(p)) => p.as_slice() == format!("Bearer {t}").as_bytes(),
            _ => false,
        };
        if !allowed {
            return Ok(respond(401, r#"{"error":"unauthorized"}"#.to_string()));
        }
        wasi::http::handler::handle(request).await
    }
}

export!(Auth);
