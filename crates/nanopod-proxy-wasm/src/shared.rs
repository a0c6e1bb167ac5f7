//! What all VMs of one filter share: key-value data with compare-and-swap
//! (how a rate limiter counts across instances), and named queues.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Shared data may hold at most this many bytes of keys and values.
const MAX_SHARED_BYTES: usize = 64 << 20;
/// A queue may hold at most this many items.
const MAX_QUEUE_ITEMS: usize = 10_000;

/// Key-value data shared by every VM of a filter.
#[derive(Default)]
pub(crate) struct SharedData {
    inner: Mutex<Data>,
}

#[derive(Default)]
struct Data {
    values: HashMap<Vec<u8>, (Vec<u8>, u32)>,
    bytes: usize,
    next_cas: u32,
}

/// Why a write was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SetError {
    /// Another VM wrote since the value was read.
    CasMismatch,
    /// The data would grow past its bound.
    Full,
}

impl SharedData {
    /// The value of `key` and its version (never 0).
    pub(crate) fn get(&self, key: &[u8]) -> Option<(Vec<u8>, u32)> {
        self.inner
            .lock()
            .expect("shared data")
            .values
            .get(key)
            .cloned()
    }

    /// Sets `key`: unconditionally when `cas` is 0, else only if the value
    /// is still at version `cas`.
    pub(crate) fn set(&self, key: &[u8], value: &[u8], cas: u32) -> Result<(), SetError> {
        let mut data = self.inner.lock().expect("shared data");
        let current = data.values.get(key).map(|(v, c)| (v.len(), *c));
        if let Some((_, version)) = current
            && cas != 0
            && cas != version
        {
            return Err(SetError::CasMismatch);
        }
        let freed = current.map_or(0, |(len, _)| len + key.len());
        if data.bytes - freed + key.len() + value.len() > MAX_SHARED_BYTES {
            return Err(SetError::Full);
        }
        data.next_cas = data.next_cas.wrapping_add(1).max(1);
        let version = data.next_cas;
        data.bytes = data.bytes - freed + key.len() + value.len();
        data.values.insert(key.to_vec(), (value.to_vec(), version));
        Ok(())
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
        let data = SharedData::default();
        assert_eq!(data.get(b"k"), None);
        data.set(b"k", b"1", 0).unwrap();
        let (_, v1) = data.get(b"k").unwrap();
        data.set(b"k", b"2", v1).unwrap();
        assert_eq!(data.set(b"k", b"3", v1), Err(SetError::CasMismatch));
        let (value, v2) = data.get(b"k").unwrap();
        assert_eq!(value, b"2");
        assert_ne!(v1, v2);
        assert_ne!(v2, 0);
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
