//! Idle instances kept for later requests, one shard per worker thread: a
//! thread takes back the instance it used last, warm in its core's cache
//! and off the other workers' lock, and takes another thread's only when
//! it has none.

use nanopod_host::net::worker_slot;
use std::sync::Mutex;

/// The server's worker threads (tokio's default: one per core): a
/// proxy-wasm filter keeps a VM for each, a pool a shard.
pub(crate) fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Idle instances of one component.
pub(crate) struct Idle<T> {
    shards: Vec<Mutex<Vec<T>>>,
}

impl<T> Idle<T> {
    /// An empty pool with a shard per worker thread.
    pub(crate) fn new() -> Self {
        Idle {
            shards: (0..worker_threads())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        }
    }

    /// An idle instance: this thread's last, or another thread's.
    pub(crate) fn take(&self) -> Option<T> {
        let n = self.shards.len();
        let own = worker_slot(n);
        (0..n).find_map(|i| self.shards[(own + i) % n].lock().expect("idle").pop())
    }

    /// Keeps `instance` for this thread's next request.
    pub(crate) fn put(&self, instance: T) {
        self.shards[worker_slot(self.shards.len())]
            .lock()
            .expect("idle")
            .push(instance);
    }
}
