//! `pw-ratelimit`: a proxy-wasm rate limiter. Each client address may make
//! N requests per second (N is the plugin configuration); past that it
//! replies 429. The count lives in shared data, updated with
//! compare-and-swap, so every VM of the filter (one per worker thread)
//! counts into the same window.

use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};
use std::time::UNIX_EPOCH;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(LimitRoot { per_second: 0, limited: 0 })
    });
}}

struct LimitRoot {
    per_second: u64,
    /// The `ratelimit_rejected` metric id.
    limited: u32,
}

impl Context for LimitRoot {}

impl RootContext for LimitRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let parsed = self
            .get_plugin_configuration()
            .and_then(|c| String::from_utf8(c).ok())
            .and_then(|t| t.trim().parse::<u64>().ok());
        let Some(n) = parsed.filter(|n| *n > 0) else {
            log::error!("set `config` to the requests allowed per second per client, a whole number");
            return false;
        };
        self.per_second = n;
        self.limited = define_metric(MetricType::Counter, "ratelimit_rejected").unwrap_or(0);
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Limit {
            per_second: self.per_second,
            limited: self.limited,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Limit {
    per_second: u64,
    limited: u32,
}

impl Limit {
    /// Counts this request in its client's current second; returns the
    /// count.
    fn count(&self, client: &str) -> u64 {
        let second = self
            .get_current_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let key = format!("ratelimit:{client}");
        loop {
            let (value, cas) = self.get_shared_data(&key);
            let count = value
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|v| {
                    let (s, c) = v.split_once(':')?;
                    (s.parse::<u64>().ok()? == second).then(|| c.parse::<u64>().ok())?
                })
                .unwrap_or(0)
                + 1;
            let value = format!("{second}:{count}");
            match self.set_shared_data(&key, Some(value.as_bytes()), cas) {
                Ok(()) => return count,
                // Another VM counted first: read again.
                Err(Status::CasMismatch) => continue,
                Err(_) => return count,
            }
        }
    }
}

impl Context for Limit {}

impl HttpContext for Limit {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let address = self
            .get_property(vec!["source", "address"])
            .and_then(|a| String::from_utf8(a).ok())
            .unwrap_or_default();
        // The client's IP: the address without its port.
        let client = address
            .rsplit_once(':')
            .map_or(address.as_str(), |(ip, _)| ip)
            .to_string();
        if self.count(&client) <= self.per_second {
            return Action::Continue;
        }
        let _ = increment_metric(self.limited, 1);
        self.send_http_response(
            429,
            vec![("retry-after", "1")],
            Some(b"too many requests\n"),
        );
        Action::Pause
    }
}
