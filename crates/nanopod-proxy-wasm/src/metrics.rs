//! Metrics filters define (counters, gauges, histograms), shared by every
//! VM of every filter of a server, and their Prometheus text form (what
//! `nanopod serve --metrics ADDR` answers).

use crate::abi::MetricType;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Upper bounds of the histogram buckets (values as the filter records
/// them, often milliseconds or bytes).
const BUCKETS: [u64; 14] = [
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 100_000,
];

/// One metric.
struct Metric {
    filter: String,
    name: String,
    kind: MetricType,
    /// A counter's or gauge's value; a histogram's sum.
    value: AtomicI64,
    /// A histogram's bucket counts (the last is `+Inf`) and count.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
}

/// Every metric of a server's filters.
#[derive(Default)]
pub struct Metrics {
    metrics: RwLock<Vec<Arc<Metric>>>,
}

/// Why a metric operation was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum MetricError {
    /// No metric has that id.
    NotFound,
    /// Not an operation this kind of metric takes.
    BadArgument,
}

impl Metrics {
    /// The id of `filter`'s metric `name` of `kind`, defined on first use.
    pub(crate) fn define(&self, filter: &str, kind: MetricType, name: &str) -> u32 {
        if let Some(i) = self
            .metrics
            .read()
            .expect("metrics")
            .iter()
            .position(|m| m.filter == filter && m.name == name && m.kind == kind)
        {
            return i as u32 + 1;
        }
        let mut metrics = self.metrics.write().expect("metrics");
        metrics.push(Arc::new(Metric {
            filter: filter.to_string(),
            name: name.to_string(),
            kind,
            value: AtomicI64::new(0),
            buckets: Default::default(),
            count: AtomicU64::new(0),
        }));
        metrics.len() as u32
    }

    fn metric(&self, id: u32) -> Result<Arc<Metric>, MetricError> {
        let metrics = self.metrics.read().expect("metrics");
        (id as usize)
            .checked_sub(1)
            .and_then(|i| metrics.get(i).cloned())
            .ok_or(MetricError::NotFound)
    }

    /// Adds `delta` to a counter (which only goes up) or a gauge.
    pub(crate) fn increment(&self, id: u32, delta: i64) -> Result<(), MetricError> {
        let m = self.metric(id)?;
        match m.kind {
            MetricType::Counter if delta < 0 => Err(MetricError::BadArgument),
            MetricType::Histogram => Err(MetricError::BadArgument),
            _ => {
                m.value.fetch_add(delta, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// Adds to a counter, sets a gauge, or records a histogram value.
    pub(crate) fn record(&self, id: u32, value: u64) -> Result<(), MetricError> {
        let m = self.metric(id)?;
        let signed = i64::try_from(value).unwrap_or(i64::MAX);
        match m.kind {
            MetricType::Counter => drop(m.value.fetch_add(signed, Ordering::Relaxed)),
            MetricType::Gauge => m.value.store(signed, Ordering::Relaxed),
            MetricType::Histogram => {
                let bucket = BUCKETS
                    .iter()
                    .position(|b| value <= *b)
                    .unwrap_or(BUCKETS.len());
                m.buckets[bucket].fetch_add(1, Ordering::Relaxed);
                m.count.fetch_add(1, Ordering::Relaxed);
                m.value.fetch_add(signed, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// A counter's or gauge's value.
    pub(crate) fn get(&self, id: u32) -> Result<u64, MetricError> {
        let m = self.metric(id)?;
        match m.kind {
            MetricType::Histogram => Err(MetricError::BadArgument),
            _ => Ok(m.value.load(Ordering::Relaxed) as u64),
        }
    }

    /// Every metric in the Prometheus text exposition format, with the
    /// filter as a label; names are made valid Prometheus names.
    pub fn prometheus(&self) -> String {
        let metrics = self.metrics.read().expect("metrics");
        let mut out = String::new();
        let mut typed = Vec::new();
        for m in metrics.iter() {
            let name = prometheus_name(&m.name);
            let filter = m.filter.replace('\\', "\\\\").replace('"', "\\\"");
            if !typed.contains(&name) {
                let kind = match m.kind {
                    MetricType::Counter => "counter",
                    MetricType::Gauge => "gauge",
                    MetricType::Histogram => "histogram",
                };
                let _ = writeln!(out, "# TYPE {name} {kind}");
                typed.push(name.clone());
            }
            if m.kind != MetricType::Histogram {
                let _ = writeln!(
                    out,
                    "{name}{{filter=\"{filter}\"}} {}",
                    m.value.load(Ordering::Relaxed)
                );
                continue;
            }
            let mut cumulative = 0;
            for (i, bound) in BUCKETS
                .iter()
                .map(|b| b.to_string())
                .chain(["+Inf".to_string()])
                .enumerate()
            {
                cumulative += m.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "{name}_bucket{{filter=\"{filter}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "{name}_sum{{filter=\"{filter}\"}} {}",
                m.value.load(Ordering::Relaxed)
            );
            let _ = writeln!(
                out,
                "{name}_count{{filter=\"{filter}\"}} {}",
                m.count.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// `name` with every character Prometheus does not allow in a metric name
/// replaced by `_` (and a leading digit prefixed).
fn prometheus_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_and_histograms_in_prometheus_text() {
        let m = Metrics::default();
        let c = m.define("auth", MetricType::Counter, "auth.denied");
        assert_eq!(m.define("auth", MetricType::Counter, "auth.denied"), c);
        let g = m.define("auth", MetricType::Gauge, "in_flight");
        let h = m.define("log", MetricType::Histogram, "latency_ms");
        m.increment(c, 2).unwrap();
        assert_eq!(m.increment(c, -1), Err(MetricError::BadArgument));
        m.record(g, 7).unwrap();
        m.increment(g, -2).unwrap();
        m.record(h, 3).unwrap();
        m.record(h, 3000).unwrap();
        assert_eq!(m.get(c), Ok(2));
        assert_eq!(m.get(g), Ok(5));
        assert_eq!(m.get(h), Err(MetricError::BadArgument));
        assert_eq!(m.get(99), Err(MetricError::NotFound));
        let text = m.prometheus();
        assert!(
            text.contains("# TYPE auth_denied counter\nauth_denied{filter=\"auth\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("in_flight{filter=\"auth\"} 5\n"), "{text}");
        assert!(
            text.contains("latency_ms_bucket{filter=\"log\",le=\"5\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_ms_bucket{filter=\"log\",le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_ms_sum{filter=\"log\"} 3003\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_ms_count{filter=\"log\"} 2\n"),
            "{text}"
        );
    }
}
