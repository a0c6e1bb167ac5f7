//! `pw-auth`: a proxy-wasm filter (built with the `proxy-wasm` SDK, as for
//! Envoy) that lets a request through only with `Authorization: Bearer
//! TOKEN`, TOKEN being its plugin configuration; otherwise it replies 401
//! itself. Counts what it allowed and denied (`auth_allowed`,
//! `auth_denied`).

use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(AuthRoot { expected: Rc::from(""), metrics: (0, 0) })
    });
}}

struct AuthRoot {
    /// `Bearer TOKEN`.
    expected: Rc<str>,
    /// (allowed, denied) metric ids.
    metrics: (u32, u32),
}

impl Context for AuthRoot {}

impl RootContext for AuthRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let token = self
            .get_plugin_configuration()
            .and_then(|c| String::from_utf8(c).ok())
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if token.is_empty() {
            log::error!("no token configured: set `config` to the bearer token");
            return false;
        }
        self.expected = Rc::from(format!("Bearer {token}"));
        self.metrics = (
            define_metric(MetricType::Counter, "auth_allowed").unwrap_or(0),
            define_metric(MetricType::Counter, "auth_denied").unwrap_or(0),
        );
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Auth {
            expected: self.expected.clone(),
            metrics: self.metrics,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Auth {
    expected: Rc<str>,
    metrics: (u32, u32),
}

impl Context for Auth {}

impl HttpContext for Auth {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.get_http_request_header("authorization").as_deref() == Some(&*self.expected) {
            let _ = increment_metric(self.metrics.0, 1);
            return Action::Continue;
        }
        let _ = increment_metric(self.metrics.1, 1);
        self.send_http_response(
            401,
            vec![("www-authenticate", "Bearer")],
            Some(b"unauthorized\n"),
        );
        Action::Pause
    }
}
