//! `http-log`: a middleware that logs each request to stderr and passes it
//! on.

use http_util::{forward, method_name, trap_if_asked};
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

struct Log;

wasip2::http::proxy::export!(Log);

impl wasip2::exports::http::incoming_handler::Guest for Log {
    fn handle(req: IncomingRequest, out: ResponseOutparam) {
        trap_if_asked(&req, "log");
        eprintln!("log: {} {}", method_name(&req.method()), req.path_with_query().unwrap_or_default());
        forward(req, out, "log");
    }
}
