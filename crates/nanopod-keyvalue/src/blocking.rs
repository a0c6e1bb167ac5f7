//! Stores for callers that cannot await: proxy-wasm's host calls are
//! synchronous, yet a filter's shared data may live in a NATS bucket.
//!
//! A file or memory store's operations never wait on I/O of their own, so
//! they run in place. A NATS store used this way has its own connection,
//! on a runtime thread of its own (`nanopod-kv`): the caller waits on a
//! channel, never on its own runtime, so a server whose workers all wait
//! cannot starve the connection that would answer them. On a
//! multi-threaded runtime the wait is announced with `block_in_place`, so
//! the worker's other tasks move to another thread meanwhile.

use crate::{Error, Opening, Store, StoreUrl, Swap, Versioned, open, open_in};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

/// How long one operation on a NATS store may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The runtime NATS connections of blocking stores run on.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("nanopod-kv")
        .enable_all()
        .build()
        .expect("a runtime thread for key-value stores")
});

/// NATS stores opened for blocking use, by URL (each with the connection
/// made on [`RUNTIME`]).
static OPEN_BLOCKING: LazyLock<Mutex<HashMap<StoreUrl, Opening>>> = LazyLock::new(Default::default);

/// A store whose operations return when done, for synchronous callers.
#[derive(Debug, Clone)]
pub struct BlockingStore {
    store: Arc<Store>,
    remote: bool,
}

impl BlockingStore {
    /// Opens the store at `url` (sharing a file or memory store with the
    /// rest of the process, as [`open`] does).
    pub fn open(url: &StoreUrl) -> Result<BlockingStore, Error> {
        let remote = matches!(url, StoreUrl::Nats { .. });
        let store = if remote {
            let url = url.clone();
            wait(async move { open_in(&OPEN_BLOCKING, &url).await })?
        } else {
            futures::executor::block_on(open(url))?
        };
        Ok(BlockingStore { store, remote })
    }

    /// The URL it was opened from.
    pub fn url(&self) -> &StoreUrl {
        self.store.url()
    }

    /// The value of `key` and its revision.
    pub fn read(&self, key: &str) -> Result<Versioned, Error> {
        let key = key.to_string();
        self.run(move |s| async move { s.read(&key).await })
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: Vec<u8>) -> Result<(), Error> {
        let key = key.to_string();
        self.run(move |s| async move { s.set(&key, value).await })
    }

    /// Sets `key` to `value` if it is still at `revision`.
    pub fn swap(&self, key: &str, revision: u64, value: Vec<u8>) -> Result<Swap, Error> {
        let key = key.to_string();
        self.run(move |s| async move { s.swap(&key, revision, value).await })
    }

    fn run<T, F>(&self, op: impl FnOnce(Arc<Store>) -> F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let future = op(self.store.clone());
        if self.remote {
            wait(future)
        } else {
            futures::executor::block_on(future)
        }
    }
}

/// Runs `future` on [`RUNTIME`] and waits (at most [`DEADLINE`]) for it.
fn wait<T: Send + 'static>(
    future: impl Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    RUNTIME.spawn(async move {
        let result = tokio::time::timeout(DEADLINE, future)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Backend(format!(
                    "nats: no answer within {} s",
                    DEADLINE.as_secs()
                )))
            });
        let _ = answer.send(result);
    });
    let receive = move || {
        answered
            .recv()
            .unwrap_or_else(|_| Err(Error::Backend("the key-value runtime stopped".into())))
    };
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(receive)
        }
        _ => receive(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_store_is_shared_with_async_callers() {
        let url = StoreUrl::Memory("blocking-test".into());
        let store = BlockingStore::open(&url).unwrap();
        store.set("k", b"v".to_vec()).unwrap();
        let seen = futures::executor::block_on(async {
            open(&url).await.unwrap().get("k").await.unwrap()
        });
        assert_eq!(seen.as_deref(), Some(&b"v"[..]));
        let read = store.read("k").unwrap();
        assert_eq!(
            store.swap("k", read.revision + 1, b"x".to_vec()).unwrap(),
            Swap::Changed
        );
        assert_eq!(
            store.swap("k", read.revision, b"w".to_vec()).unwrap(),
            Swap::Done
        );
        assert_eq!(store.read("k").unwrap().value.as_deref(), Some(&b"w"[..]));
    }

    #[test]
    fn an_unreachable_server_fails_without_hanging() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = StoreUrl::Nats {
            server: format!("nats://127.0.0.1:{port}"),
            bucket: "b".into(),
        };
        let error = BlockingStore::open(&url).unwrap_err().to_string();
        assert!(error.contains("cannot reach"), "{error}");
    }
}
