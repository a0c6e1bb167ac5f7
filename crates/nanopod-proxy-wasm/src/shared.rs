//! What all VMs of one filter share: key-value data with compare-and-swap
//! (how a rate limiter counts across instances), and named queues.
//!
//! Shared data lives in the process by default. A filter given a
//! `shared-data` store keeps it there instead ([`BlockingStore`]): a NATS
//! bucket shares it with the same filter on other hosts, and its
//! compare-and-swap stays atomic across them.

use nanopod_keyvalue::{BlockingStore, Swap};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Shared data may hold at most this many bytes of keys and values.
const MAX_SHARED_BYTES: usize = 64 << 20;
/// A queue may hold at most this many items.
const MAX_QUEUE_ITEMS: usize = 10_000;
/// At most this many keys' last-read revisions are remembered.
const MAX_REMEMBERED: usize = 4096;

/// Key-value data shared by every VM of a filter.
pub(crate) enum SharedData {
    /// In this process.
    Local(Mutex<Data>),
    /// In a key-value store.
    Store(StoreData),
}

impl Default for SharedData {
    fn default() -> Self {
        SharedData::Local(Mutex::default())
    }
}

#[derive(Default)]
pub(crate) struct Data {
    values: HashMap<Vec<u8>, (Vec<u8>, u32)>,
    bytes: usize,
    next_cas: u32,
}

/// Shared data in a store: proxy-wasm's 32-bit versions are the low bits
/// of the store's revisions (never 0), and the full revision last read of
/// each key is remembered for the write that follows.
pub(crate) struct StoreData {
    store: BlockingStore,
    revisions: Mutex<HashMap<Vec<u8>, u64>>,
}

/// Why a read or write failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SetError {
    /// Another VM wrote since the value was read.
    CasMismatch,
    /// The data would grow past its bound.
    Full,
    /// The store failed (unreachable, too slow, a key too long).
    Store,
}

impl SharedData {
    /// Shared data kept in `store`.
    pub(crate) fn in_store(store: BlockingStore) -> SharedData {
        SharedData::Store(StoreData {
            store,
            revisions: Mutex::default(),
        })
    }

    /// The value of `key` and its version (never 0), `None` when unset.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<(Vec<u8>, u32)>, SetError> {
        match self {
            SharedData::Local(data) => Ok(data.lock().expect("shared data").get(key)),
            SharedData::Store(data) => data.get(key),
        }
    }

    /// Sets `key`: unconditionally when `cas` is 0, else only if the value
    /// is still at version `cas`.
    pub(crate) fn set(&self, key: &[u8], value: &[u8], cas: u32) -> Result<(), SetError> {
        match self {
            SharedData::Local(data) => data.lock().expect("shared data").set(key, value, cas),
            SharedData::Store(data) => data.set(key, value, cas),
        }
    }
}

impl Data {
    fn get(&self, key: &[u8]) -> Option<(Vec<u8>, u32)> {
        self.values.get(key).cloned()
    }

    fn set(&mut self, key: &[u8], value: &[u8], cas: u32) -> Result<(), SetError> {
        let current = self.values.get(key).map(|(v, c)| (v.len(), *c));
        if let Some((_, version)) = current
            && cas != 0
            && cas != version
        {
            return Err(SetError::CasMismatch);
        }
        let freed = current.map_or(0, |(len, _)| len + key.len());
        if self.bytes - freed + key.len() + value.len() > MAX_SHARED_BYTES {
            return Err(SetError::Full);
        }
        self.next_cas = self.next_cas.wrapping_add(1).max(1);
        let version = self.next_cas;
        self.bytes = self.bytes - freed + key.len() + value.len();
        self.values.insert(key.to_vec(), (value.to_vec(), version));
        Ok(())
    }
}

/// A store revision as a proxy-wasm version: its low 32 bits, never 0.
fn version(revision: u64) -> u32 {
    (revision as u32).max(1)
}

/// `key` as a store key: bytes other than letters, digits, `-` and `_`
/// become `=XX` (hex), so that any key suits even NATS, which allows few
/// characters (`ratelimit:10.0.0.1` is `ratelimit=3A10=2E0=2E0=2E1`).
pub(crate) fn store_key(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

impl StoreData {
    fn failed(&self, e: nanopod_keyvalue::Error) -> SetError {
        tracing::warn!("shared data in {}: {e}", self.store.url());
        match e {
            nanopod_keyvalue::Error::ValueTooLarge(_) | nanopod_keyvalue::Error::Full => {
                SetError::Full
            }
            _ => SetError::Store,
        }
    }

    fn remember(&self, key: &[u8], revision: u64) {
        let mut revisions = self.revisions.lock().expect("revisions");
        if revisions.len() >= MAX_REMEMBERED && !revisions.contains_key(key) {
            revisions.clear();
        }
        revisions.insert(key.to_vec(), revision);
    }

    fn get(&self, key: &[u8]) -> Result<Option<(Vec<u8>, u32)>, SetError> {
        let read = self
            .store
            .read(&store_key(key))
            .map_err(|e| self.failed(e))?;
        let Some(value) = read.value else {
            return Ok(None);
        };
        self.remember(key, read.revision);
        Ok(Some((value, version(read.revision))))
    }

    fn set(&self, key: &[u8], value: &[u8], cas: u32) -> Result<(), SetError> {
        let name = store_key(key);
        if cas == 0 {
            return self
                .store
                .set(&name, value.to_vec())
                .map_err(|e| self.failed(e));
        }
        let remembered = self.revisions.lock().expect("revisions").get(key).copied();
        let revision = match remembered.filter(|r| version(*r) == cas) {
            Some(r) => r,
            None => self.store.read(&name).map_err(|e| self.failed(e))?.revision,
        };
        if revision == 0 || version(revision) != cas {
            return Err(SetError::CasMismatch);
        }
        match self.store.swap(&name, revision, value.to_vec()) {
            Ok(Swap::Done) => Ok(()),
            Ok(Swap::Changed) => Err(SetError::CasMismatch),
            Err(e) => Err(self.failed(e)),
        }
    }
}

/// One named queue and the VM (slot, root context) told when it fills.
struct Queue {
    name: Vec<u8>,
    items: VecDeque<Vec<u8>>,
    owner: (usize, u32),
}

/// The named queues of a filter; a queue's id is its place plus one.
#[derive(Default)]
pub(crate) struct SharedQueues {
    queues: Mutex<Vec<Queue>>,
}

impl SharedQueues {
    /// Opens (or creates) queue `name`, owned by `owner`.
    pub(crate) fn register(&self, name: &[u8], owner: (usize, u32)) -> u32 {
        let mut queues = self.queues.lock().expect("queues");
        if let Some(i) = queues.iter().position(|q| q.name == name) {
            queues[i].owner = owner;
            return i as u32 + 1;
        }
        queues.push(Queue {
            name: name.to_vec(),
            items: VecDeque::new(),
            owner,
        });
        queues.len() as u32
    }

    /// The id of queue `name`, if registered.
    pub(crate) fn resolve(&self, name: &[u8]) -> Option<u32> {
        let queues = self.queues.lock().expect("queues");
        queues
            .iter()
            .position(|q| q.name == name)
            .map(|i| i as u32 + 1)
    }

    /// Adds `item` to queue `id`; returns its owner to notify, `None` when
    /// there is no such queue. A full queue drops its oldest item.
    pub(crate) fn enqueue(&self, id: u32, item: &[u8]) -> Option<(usize, u32)> {
        let mut queues = self.queues.lock().expect("queues");
        let queue = queues.get_mut((id as usize).checked_sub(1)?)?;
        if queue.items.len() >= MAX_QUEUE_ITEMS {
            queue.items.pop_front();
        }
        queue.items.push_back(item.to_vec());
        Some(queue.owner)
    }

    /// Takes the oldest item of queue `id`: `Err(())` when there is no
    /// such queue.
    pub(crate) fn dequeue(&self, id: u32) -> Result<Option<Vec<u8>>, ()> {
        let mut queues = self.queues.lock().expect("queues");
        let index = (id as usize).checked_sub(1).ok_or(())?;
        let queue = queues.get_mut(index).ok_or(())?;
        Ok(queue.items.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_and_swap_refuses_a_stale_writer() {
        let local = SharedData::default();
        let url = nanopod_keyvalue::StoreUrl::Memory("shared-data-test".into());
        let stored = SharedData::in_store(BlockingStore::open(&url).unwrap());
        for data in [local, stored] {
            assert_eq!(data.get(b"k:1"), Ok(None));
            data.set(b"k:1", b"1", 0).unwrap();
            let (_, v1) = data.get(b"k:1").unwrap().unwrap();
            data.set(b"k:1", b"2", v1).unwrap();
            assert_eq!(data.set(b"k:1", b"3", v1), Err(SetError::CasMismatch));
            let (value, v2) = data.get(b"k:1").unwrap().unwrap();
            assert_eq!(value, b"2");
            assert_ne!(v1, v2);
            assert_ne!(v2, 0);
        }
    }

    #[test]
    fn store_keys_suit_nats() {
        assert_eq!(
            store_key(b"ratelimit:10.0.0.1"),
            "ratelimit=3A10=2E0=2E0=2E1"
        );
        assert_eq!(store_key(b"a=b"), "a=3Db");
        assert_eq!(store_key(b"\xff"), "=FF");
    }

    #[test]
    fn shared_data_is_bounded() {
        let data = SharedData::default();
        let big = vec![0u8; MAX_SHARED_BYTES / 2];
        data.set(b"a", &big, 0).unwrap();
        assert_eq!(data.set(b"b", &big, 0), Err(SetError::Full));
        // Replacing a value frees what it held.
        data.set(b"a", &big, 0).unwrap();
    }

    #[test]
    fn queues_keep_order_and_their_owner() {
        let queues = SharedQueues::default();
        let id = queues.register(b"q", (0, 1));
        assert_eq!(queues.resolve(b"q"), Some(id));
        assert_eq!(queues.resolve(b"other"), None);
        assert_eq!(queues.enqueue(id, b"a"), Some((0, 1)));
        queues.enqueue(id, b"b");
        assert_eq!(queues.dequeue(id), Ok(Some(b"a".to_vec())));
        assert_eq!(queues.dequeue(id), Ok(Some(b"b".to_vec())));
        assert_eq!(queues.dequeue(id), Ok(None));
        assert_eq!(queues.dequeue(id + 1), Err(()));
        assert_eq!(queues.enqueue(0, b"x"), None);
    }
}
