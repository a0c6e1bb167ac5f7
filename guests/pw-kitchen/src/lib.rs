//! `pw-kitchen`: the proxy-wasm test fixture. Every request gets the
//! request header `x-kitchen-seen: yes` (for the app) and the response
//! header `x-kitchen-response: yes` (for the client); the request header
//! `x-kitchen: MODE` asks for more:
//!
//! - `config`: reply with the plugin configuration;
//! - `props`: reply with properties (path, method, id, source, plugin);
//! - `count`: count in shared data (compare-and-swap) and reply the count;
//! - `queue`: put an item on the shared queue (read in `on_queue_ready`);
//! - `call`: `dispatch_http_call` to the upstream in the VM configuration
//!   and reply with its answer; `resume`: the same, then let the request
//!   go on to the app (`proxy_continue_stream`);
//! - `upper-body`: buffer the request body and upper-case it;
//! - `redact`: buffer the response body and replace it;
//! - `trap`: panic (a trap); `spin`: never return; `grow`: allocate 256 MiB.
//!
//! Its configuration `refuse` fails `proxy_on_configure`. It ticks every
//! 100 ms (`kitchen_ticks`), and counts requests (`kitchen_requests`) and
//! dequeued items (`kitchen_dequeued`).

use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(KitchenRoot::default())
    });
}}

#[derive(Default, Clone)]
struct Shared {
    config: Rc<str>,
    upstream: Rc<str>,
    requests: u32,
    dequeued: u32,
    ticks: u32,
    queue: u32,
}

#[derive(Default)]
struct KitchenRoot {
    shared: Shared,
}

impl Context for KitchenRoot {}

impl RootContext for KitchenRoot {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let upstream = self
            .get_vm_configuration()
            .and_then(|c| String::from_utf8(c).ok())
            .unwrap_or_default();
        self.shared.upstream = Rc::from(upstream.trim());
        true
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self
            .get_plugin_configuration()
            .and_then(|c| String::from_utf8(c).ok())
            .unwrap_or_default();
        if config.trim() == "refuse" {
            log::error!("configuration `refuse`: refusing to start");
            return false;
        }
        self.shared.config = Rc::from(config);
        self.shared.requests = define_metric(MetricType::Counter, "kitchen_requests").unwrap_or(0);
        self.shared.dequeued = define_metric(MetricType::Counter, "kitchen_dequeued").unwrap_or(0);
        self.shared.ticks = define_metric(MetricType::Counter, "kitchen_ticks").unwrap_or(0);
        self.shared.queue = self.register_shared_queue("kitchen");
        self.set_tick_period(Duration::from_millis(100));
        true
    }

    fn on_tick(&mut self) {
        let _ = increment_metric(self.shared.ticks, 1);
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        while let Ok(Some(_item)) = self.dequeue_shared_queue(queue_id) {
            let _ = increment_metric(self.shared.dequeued, 1);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Kitchen {
            shared: self.shared.clone(),
            mode: String::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Kitchen {
    shared: Shared,
    mode: String,
}

impl Kitchen {
    fn reply(&self, status: u32, body: &str) {
        self.send_http_response(status, vec![("x-kitchen-local", "yes")], Some(body.as_bytes()));
    }

    fn property(&self, path: &str) -> String {
        self.get_property(path.split('.').collect())
            .map(|v| match path {
                "request.time" => {
                    let nanos = u64::from_le_bytes(v.try_into().unwrap_or_default());
                    (nanos > 0).to_string()
                }
                _ => String::from_utf8_lossy(&v).into_owned(),
            })
            .unwrap_or_else(|| "(none)".into())
    }

    fn count(&self) -> u64 {
        loop {
            let (value, cas) = self.get_shared_data("kitchen:count");
            let n = value
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            match self.set_shared_data("kitchen:count", Some(n.to_string().as_bytes()), cas) {
                Err(Status::CasMismatch) => continue,
                _ => return n,
            }
        }
    }

    fn call(&mut self) -> Action {
        let upstream = self.shared.upstream.clone();
        let called = self.dispatch_http_call(
            &upstream,
            vec![(":method", "GET"), (":path", "/items"), (":authority", &upstream)],
            None,
            vec![],
            Duration::from_secs(5),
        );
        if let Err(status) = called {
            self.reply(503, &format!("call refused: {status:?}\n"));
        }
        Action::Pause
    }
}

impl Context for Kitchen {
    fn on_http_call_response(&mut self, _token: u32, headers: usize, body_size: usize, _trailers: usize) {
        if headers == 0 {
            self.reply(502, "the call failed\n");
            return;
        }
        if self.mode == "resume" {
            self.set_http_request_header("x-kitchen-called", Some("yes"));
            self.resume_http_request();
            return;
        }
        let status = self.get_http_call_response_header(":status").unwrap_or_default();
        let body = self
            .get_http_call_response_body(0, body_size)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        self.reply(200, &format!("upstream said {status}: {body}"));
    }
}

impl HttpContext for Kitchen {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.mode = self.get_http_request_header("x-kitchen").unwrap_or_default();
        self.set_http_request_header("x-kitchen-seen", Some("yes"));
        match self.mode.as_str() {
            "config" => {
                let config = self.shared.config.clone();
                self.reply(200, &config);
                Action::Pause
            }
            "props" => {
                let lines: Vec<String> = [
                    "request.path",
                    "request.method",
                    "request.id",
                    "request.time",
                    "source.address",
                    "plugin_name",
                    "plugin_root_id",
                ]
                .iter()
                .map(|p| format!("{p}={}", self.property(p)))
                .collect();
                self.reply(200, &(lines.join("\n") + "\n"));
                Action::Pause
            }
            "count" => {
                let n = self.count();
                self.reply(200, &format!("{n}\n"));
                Action::Pause
            }
            "queue" => {
                if let Some(queue) = self.resolve_shared_queue("", "kitchen") {
                    let _ = self.enqueue_shared_queue(queue, Some(b"item"));
                }
                Action::Continue
            }
            "call" | "resume" => self.call(),
            "trap" => panic!("asked to trap"),
            "spin" => {
                #[allow(clippy::empty_loop)]
                loop {}
            }
            "grow" => {
                let big = vec![1u8; 256 << 20];
                std::hint::black_box(&big);
                Action::Continue
            }
            _ => Action::Continue,
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.mode != "upper-body" {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        if let Some(body) = self.get_http_request_body(0, body_size) {
            self.set_http_request_body(0, body_size, &body.to_ascii_uppercase());
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_response_header("x-kitchen-response", Some("yes"));
        if self.mode == "redact" {
            self.set_http_response_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.mode != "redact" {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let replaced = format!("redacted {body_size} bytes\n");
        self.set_http_response_body(0, body_size, replaced.as_bytes());
        Action::Continue
    }

    fn on_log(&mut self) {
        let _ = increment_metric(self.shared.requests, 1);
    }
}
