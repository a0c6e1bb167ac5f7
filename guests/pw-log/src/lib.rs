//! `pw-log`: a proxy-wasm access-log filter. Logs one line per request
//! (method, path, status, time taken), stamps the response with the
//! request's id (`x-request-id`), and keeps `requests_total` and a
//! `request_duration_us` histogram.

use proxy_wasm::hostcalls::{define_metric, increment_metric, record_metric};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType};
use std::time::SystemTime;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(LogRoot { metrics: (0, 0) })
    });
}}

struct LogRoot {
    /// (requests, duration) metric ids.
    metrics: (u32, u32),
}

impl Context for LogRoot {}

impl RootContext for LogRoot {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        self.metrics = (
            define_metric(MetricType::Counter, "requests_total").unwrap_or(0),
            define_metric(MetricType::Histogram, "request_duration_us").unwrap_or(0),
        );
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AccessLog {
            metrics: self.metrics,
            line: String::new(),
            started: None,
            status: String::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct AccessLog {
    metrics: (u32, u32),
    line: String,
    started: Option<SystemTime>,
    status: String,
}

impl Context for AccessLog {}

impl HttpContext for AccessLog {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let method = self.get_http_request_header(":method").unwrap_or_default();
        let path = self.get_http_request_header(":path").unwrap_or_default();
        self.line = format!("{method} {path}");
        self.started = Some(self.get_current_time());
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.status = self.get_http_response_header(":status").unwrap_or_default();
        if let Some(id) = self.get_property(vec!["request", "id"])
            && let Ok(id) = String::from_utf8(id)
        {
            self.set_http_response_header("x-request-id", Some(&id));
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        let micros = self
            .started
            .and_then(|s| self.get_current_time().duration_since(s).ok())
            .map_or(0, |d| d.as_micros() as u64);
        let _ = increment_metric(self.metrics.0, 1);
        let _ = record_metric(self.metrics.1, micros);
        log::info!("{} {} {}us", self.line, self.status, micros);
    }
}
