//! `memory:`: a sorted map in the process, bounded to
//! [`MEMORY_CAPACITY`](crate::MEMORY_CAPACITY) bytes.

use crate::{Error, KeyPage, MEMORY_CAPACITY, Swap, Versioned, add, page_after};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Key → (revision, value).
    entries: BTreeMap<String, (u64, Vec<u8>)>,
    /// The last revision handed out.
    revision: u64,
    /// Bytes held by keys and values.
    bytes: usize,
}

impl Inner {
    fn put(&mut self, key: String, value: Vec<u8>) -> Result<(), Error> {
        let old = self
            .entries
            .get(&key)
            .map_or(0, |(_, v)| key.len() + v.len());
        let bytes = self.bytes - old + key.len() + value.len();
        if bytes > MEMORY_CAPACITY {
            return Err(Error::Full);
        }
        self.bytes = bytes;
        self.revision += 1;
        self.entries.insert(key, (self.revision, value));
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        if let Some((_, v)) = self.entries.remove(key) {
            self.bytes -= key.len() + v.len();
        }
    }
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().entries.get(key).map(|(_, v)| v.clone())
    }

    pub(crate) fn read(&self, key: &str) -> Versioned {
        match self.lock().entries.get(key) {
            Some((revision, value)) => Versioned {
                revision: *revision,
                value: Some(value.clone()),
            },
            None => Versioned {
                revision: 0,
                value: None,
            },
        }
    }

    pub(crate) fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), Error> {
        let mut inner = self.lock();
        pairs.into_iter().try_for_each(|(k, v)| inner.put(k, v))
    }

    pub(crate) fn delete_many(&self, keys: &[String]) {
        let mut inner = self.lock();
        keys.iter().for_each(|k| inner.remove(k));
    }

    pub(crate) fn list_keys(&self, cursor: Option<&str>) -> KeyPage {
        page_after(self.lock().entries.keys().map(String::as_str), cursor)
    }

    pub(crate) fn increment(&self, key: &str, delta: i64) -> Result<i64, Error> {
        let mut inner = self.lock();
        let next = add(
            key,
            inner.entries.get(key).map(|(_, v)| v.as_slice()),
            delta,
        )?;
        inner.put(key.to_string(), next.to_string().into_bytes())?;
        Ok(next)
    }

    pub(crate) fn swap(&self, key: &str, revision: u64, value: Vec<u8>) -> Result<Swap, Error> {
        let mut inner = self.lock();
        if inner.entries.get(key).map_or(0, |(r, _)| *r) != revision {
            return Ok(Swap::Changed);
        }
        inner.put(key.to_string(), value)?;
        Ok(Swap::Done)
    }
}
