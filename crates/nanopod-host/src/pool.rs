//! Idle instances kept for later calls or requests, one shard per worker
//! thread: a thread takes back the instance it used last, warm in its
//! core's cache and off the other workers' lock, and takes another
//! thread's only when it has none. `serve` keeps its reused handlers and
//! component filters here, `export --reuse` its instances.

use crate::net::worker_slot;
use std::sync::Mutex;

/// A server's worker threads (tokio's default: one per core): a
/// proxy-wasm filter keeps a VM for each, a pool a shard.
pub fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Idle instances of one component.
pub struct Idle<T> {
    shards: Vec<Mutex<Vec<T>>>,
}

impl<T> Default for Idle<T> {
    fn default() -> Self {
        Idle {
            shards: (0..worker_threads())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        }
    }
}

impl<T> Idle<T> {
    /// An empty pool with a shard per worker thread.
    pub fn new() -> Self {
        Self::default()
    }

    /// An idle instance: this thread's last, or another thread's.
    pub fn take(&self) -> Option<T> {
        let n = self.shards.len();
        let own = worker_slot(n);
        (0..n).find_map(|i| self.shards[(own + i) % n].lock().expect("idle").pop())
    }

    /// Keeps `instance` for this thread's next use.
    pub fn put(&self, instance: T) {
        self.shards[worker_slot(self.shards.len())]
            .lock()
            .expect("idle")
            .push(instance);
    }
}
