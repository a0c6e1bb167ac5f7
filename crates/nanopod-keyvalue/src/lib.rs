//! nanopod's key-value stores, behind one [`Store`] type that
//! `wasi:keyvalue` is served from:
//!
//! - `file://PATH`: an embedded single-file store ([redb]): ACID, each
//!   write is committed and synced before it is acknowledged, so a crash
//!   (even `kill -9`) loses no acknowledged `set`.
//! - `memory:` (or `memory:LABEL`): in the process only, for tests; bounded
//!   to [`MEMORY_CAPACITY`] bytes.
//! - `nats://HOST:PORT/BUCKET`: a NATS JetStream key-value bucket, shared
//!   by every host that names it; increments and compare-and-swap are
//!   atomic across hosts (revision-checked writes).
//!
//! A process opens each URL once ([`open`]): two components granted the
//! same store share one handle (redb allows one open per file, and a NATS
//! connection is worth sharing). [`BlockingStore`] serves callers that
//! cannot await (a proxy-wasm filter's shared data).
//!
//! Keys are at most [`MAX_KEY`] bytes, values at most [`MAX_VALUE`]; a
//! larger one is an [`Error`], never an allocation. Counters
//! ([`Store::increment`]) are stored as decimal text (`"42"`), so other
//! tools read them as they are.

mod blocking;
mod file;
mod memory;
mod nats;
mod url;

pub use blocking::{BlockingStore, DEADLINE};
pub use url::StoreUrl;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// The longest key, in bytes.
pub const MAX_KEY: usize = 1024;
/// The largest value, in bytes (NATS's default message size).
pub const MAX_VALUE: usize = 1 << 20;
/// The most bytes (keys and values) a `memory:` store holds.
pub const MEMORY_CAPACITY: usize = 64 << 20;
/// The most keys one `list-keys` page returns.
pub const PAGE: usize = 1000;

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key is longer than [`MAX_KEY`].
    #[error("key is {0} bytes; the limit is {MAX_KEY}")]
    KeyTooLong(usize),
    /// The value is larger than [`MAX_VALUE`].
    #[error("value is {0} bytes; the limit is {MAX_VALUE}")]
    ValueTooLarge(usize),
    /// `increment` of a value that is not a decimal integer.
    #[error("value of {0:?} is not an integer")]
    NotAnInteger(String),
    /// `increment` past the range of a signed 64-bit integer.
    #[error("incrementing {0:?} overflows")]
    Overflow(String),
    /// A `memory:` store is at [`MEMORY_CAPACITY`].
    #[error("memory store is full ({} MiB)", MEMORY_CAPACITY >> 20)]
    Full,
    /// The backend failed (I/O, network, a key NATS does not allow).
    #[error("{0}")]
    Backend(String),
}

impl Error {
    fn backend(context: &str, e: impl std::fmt::Display) -> Error {
        Error::Backend(format!("{context}: {e}"))
    }
}

/// A key's value with the revision it was read at, for compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The revision; `0` when the key has never been written.
    pub revision: u64,
    /// The value, `None` when the key is absent.
    pub value: Option<Vec<u8>>,
}

/// How a compare-and-swap went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// The value was written.
    Done,
    /// The key changed since it was read: nothing was written.
    Changed,
}

/// One page of keys, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// Keys in ascending order.
    pub keys: Vec<String>,
    /// Pass this to get the next page; `None` after the last.
    pub cursor: Option<String>,
}

/// An open store.
pub struct Store {
    url: StoreUrl,
    backend: Backend,
}

enum Backend {
    Memory(memory::MemoryStore),
    File(file::FileStore),
    Nats(Box<nats::NatsStore>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.len() > MAX_KEY {
        return Err(Error::KeyTooLong(key.len()));
    }
    Ok(())
}

fn check_value(value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_VALUE {
        return Err(Error::ValueTooLarge(value.len()));
    }
    Ok(())
}

/// `value + delta` for a counter stored as decimal text.
fn add(key: &str, value: Option<&[u8]>, delta: i64) -> Result<i64, Error> {
    let current = match value {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .ok_or_else(|| Error::NotAnInteger(key.to_string()))?,
    };
    current
        .checked_add(delta)
        .ok_or_else(|| Error::Overflow(key.to_string()))
}

/// The page of sorted `keys` after `cursor`.
fn page_after<'a>(keys: impl Iterator<Item = &'a str>, cursor: Option<&str>) -> KeyPage {
    let mut keys: Vec<String> = keys
        .filter(|k| cursor.is_none_or(|c| *k > c))
        .take(PAGE + 1)
        .map(str::to_string)
        .collect();
    let cursor = if keys.len() > PAGE {
        keys.truncate(PAGE);
        keys.last().cloned()
    } else {
        None
    };
    KeyPage { keys, cursor }
}

// A NATS operation's future is boxed: unboxed, its kilobytes would be in
// every operation's future, and copied on every call of every backend.
impl Store {
    /// The URL it was opened from.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// The value of `key`, if set.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        check_key(key)?;
        match &self.backend {
            Backend::Memory(s) => Ok(s.get(key)),
            Backend::File(s) => s.get(key),
            Backend::Nats(s) => Box::pin(s.get(key)).await,
        }
    }

    /// Sets `key` to `value`; acknowledged only once it is durable.
    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), Error> {
        self.set_many(vec![(key.to_string(), value)]).await
    }

    /// Sets every pair (in one transaction, for the file store).
    pub async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), Error> {
        for (key, value) in &pairs {
            check_key(key)?;
            check_value(value)?;
        }
        match &self.backend {
            Backend::Memory(s) => s.set_many(pairs),
            Backend::File(s) => s.set_many(pairs),
            Backend::Nats(s) => Box::pin(s.set_many(pairs)).await,
        }
    }

    /// Removes `key`; nothing happens when it is absent.
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        self.delete_many(vec![key.to_string()]).await
    }

    /// Removes every key (in one transaction, for the file store).
    pub async fn delete_many(&self, keys: Vec<String>) -> Result<(), Error> {
        for key in &keys {
            check_key(key)?;
        }
        match &self.backend {
            Backend::Memory(s) => {
                s.delete_many(&keys);
                Ok(())
            }
            Backend::File(s) => s.delete_many(&keys),
            Backend::Nats(s) => Box::pin(s.delete_many(&keys)).await,
        }
    }

    /// Whether `key` is set.
    pub async fn exists(&self, key: &str) -> Result<bool, Error> {
        Ok(self.read(key).await?.value.is_some())
    }

    /// The keys after `cursor`, at most [`PAGE`] of them.
    pub async fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, Error> {
        match &self.backend {
            Backend::Memory(s) => Ok(s.list_keys(cursor)),
            Backend::File(s) => s.list_keys(cursor),
            Backend::Nats(s) => Box::pin(s.list_keys(cursor)).await,
        }
    }

    /// Atomically adds `delta` to the counter at `key` (absent counts as 0)
    /// and returns the new value.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, Error> {
        check_key(key)?;
        match &self.backend {
            Backend::Memory(s) => s.increment(key, delta),
            Backend::File(s) => s.increment(key, delta),
            Backend::Nats(s) => Box::pin(s.increment(key, delta)).await,
        }
    }

    /// The value of `key` and its revision, for [`Store::swap`].
    pub async fn read(&self, key: &str) -> Result<Versioned, Error> {
        check_key(key)?;
        match &self.backend {
            Backend::Memory(s) => Ok(s.read(key)),
            Backend::File(s) => s.read(key),
            Backend::Nats(s) => Box::pin(s.read(key)).await,
        }
    }

    /// Sets `key` to `value` if it is still at `revision`.
    pub async fn swap(&self, key: &str, revision: u64, value: Vec<u8>) -> Result<Swap, Error> {
        check_key(key)?;
        check_value(&value)?;
        match &self.backend {
            Backend::Memory(s) => s.swap(key, revision, value),
            Backend::File(s) => s.swap(key, revision, value),
            Backend::Nats(s) => Box::pin(s.swap(key, revision, value)).await,
        }
    }
}

/// A store being opened, or open.
type Opening = Arc<tokio::sync::OnceCell<Arc<Store>>>;

/// Every store this process opened, by URL.
static OPEN: LazyLock<Mutex<HashMap<StoreUrl, Opening>>> = LazyLock::new(Default::default);

/// Opens the store at `url`, or returns the handle this process already
/// has. A failed open is not remembered: the next call tries again. A NATS
/// store's connection runs on the tokio runtime that first opened it, so
/// open stores on the runtime that serves the guests.
pub async fn open(url: &StoreUrl) -> Result<Arc<Store>, Error> {
    open_in(&OPEN, url).await
}

/// Opens `url` through `cache` (a map of stores by URL).
async fn open_in(
    cache: &Mutex<HashMap<StoreUrl, Opening>>,
    url: &StoreUrl,
) -> Result<Arc<Store>, Error> {
    let cell = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(url.clone())
        .or_default()
        .clone();
    cell.get_or_try_init(|| async {
        let backend = match url {
            StoreUrl::Memory(_) => Backend::Memory(memory::MemoryStore::default()),
            StoreUrl::File(path) => Backend::File(file::FileStore::open(path)?),
            StoreUrl::Nats { server, bucket } => {
                Backend::Nats(Box::new(nats::NatsStore::connect(server, bucket).await?))
            }
        };
        tracing::debug!(%url, "opened key-value store");
        Ok(Arc::new(Store {
            url: url.clone(),
            backend,
        }))
    })
    .await
    .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_decimal_text() {
        assert_eq!(add("k", None, 5).unwrap(), 5);
        assert_eq!(add("k", Some(b"41"), 1).unwrap(), 42);
        assert_eq!(add("k", Some(b"-3"), -4).unwrap(), -7);
        assert!(matches!(
            add("k", Some(b"x"), 1),
            Err(Error::NotAnInteger(_))
        ));
        assert!(matches!(
            add("k", Some(i64::MAX.to_string().as_bytes()), 1),
            Err(Error::Overflow(_))
        ));
    }

    #[test]
    fn pages_follow_the_cursor() {
        let keys: Vec<String> = (0..2500).map(|i| format!("k{i:05}")).collect();
        let first = page_after(keys.iter().map(String::as_str), None);
        assert_eq!(first.keys.len(), PAGE);
        let second = page_after(keys.iter().map(String::as_str), first.cursor.as_deref());
        assert_eq!(second.keys[0], "k01000");
        let third = page_after(keys.iter().map(String::as_str), second.cursor.as_deref());
        assert_eq!(third.keys.len(), 500);
        assert_eq!(third.cursor, None);
    }
}
