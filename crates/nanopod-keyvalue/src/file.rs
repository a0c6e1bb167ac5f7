//! `file://PATH`: one redb file. Every write is one transaction, committed
//! with redb's default durability (synced to disk before `commit`
//! returns), so an acknowledged write survives a crash; redb's single
//! writer makes increments and swaps atomic. A value is stored after its
//! 8-byte little-endian revision.
//!
//! Reads share one snapshot (a read transaction's table) until the next
//! write commits: opening a transaction per read cost as much as the read.
//! Only this process writes the file (redb locks it), so every read still
//! sees every acknowledged write.

use crate::{Error, KeyPage, Swap, Versioned, add, page_after};
use redb::{
    Database, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const LAST_REVISION: &str = "revision";

pub(crate) struct FileStore {
    db: Database,
    /// Writes committed so far.
    writes: AtomicU64,
    /// The entries as of `writes` writes, for reads until the next one.
    snapshot: Mutex<Option<(u64, Arc<Entries>)>>,
}

type Entries = ReadOnlyTable<&'static str, &'static [u8]>;

fn failed(e: impl std::fmt::Display) -> Error {
    Error::backend("file store", e)
}

/// Stores `value` at `key` under the next revision, inside `txn`.
fn put(txn: &WriteTransaction, key: &str, value: &[u8]) -> Result<(), Error> {
    let mut meta = txn.open_table(META).map_err(failed)?;
    let revision = meta
        .get(LAST_REVISION)
        .map_err(failed)?
        .map_or(0, |r| r.value())
        + 1;
    meta.insert(LAST_REVISION, revision).map_err(failed)?;
    let mut stored = Vec::with_capacity(8 + value.len());
    stored.extend_from_slice(&revision.to_le_bytes());
    stored.extend_from_slice(value);
    txn.open_table(ENTRIES)
        .map_err(failed)?
        .insert(key, stored.as_slice())
        .map_err(failed)?;
    Ok(())
}

/// The revision and value at `key`, inside `txn`.
fn current(txn: &WriteTransaction, key: &str) -> Result<Versioned, Error> {
    let table = txn.open_table(ENTRIES).map_err(failed)?;
    let stored = table.get(key).map_err(failed)?;
    Ok(versioned(stored.as_ref().map(|s| s.value())))
}

/// A stored entry (revision, then value) as a [`Versioned`].
fn versioned(stored: Option<&[u8]>) -> Versioned {
    match stored {
        Some(s) => {
            let (revision, value) = s.split_at(s.len().min(8));
            Versioned {
                revision: u64::from_le_bytes(revision.try_into().unwrap_or_default()),
                value: Some(value.to_vec()),
            }
        }
        None => Versioned {
            revision: 0,
            value: None,
        },
    }
}

impl FileStore {
    /// Opens (creating if missing, with its directory) the store at `path`.
    pub(crate) fn open(path: &Path) -> Result<FileStore, Error> {
        let context = |e: &dyn std::fmt::Display| {
            Error::Backend(format!("cannot open {}: {e}", path.display()))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| context(&e))?;
        }
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                context(&"another process has it open (use a nats:// store to share one)")
            }
            e => context(&e),
        })?;
        let store = FileStore {
            db,
            writes: AtomicU64::new(0),
            snapshot: Mutex::new(None),
        };
        store.write(|txn| {
            txn.open_table(ENTRIES).map_err(failed)?;
            txn.open_table(META).map_err(failed)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `body` in one write transaction and commits it.
    fn write<T>(
        &self,
        body: impl FnOnce(&WriteTransaction) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let txn = self.db.begin_write().map_err(failed)?;
        let out = body(&txn)?;
        txn.commit().map_err(failed)?;
        self.writes.fetch_add(1, Ordering::Release);
        // An old snapshot would keep the pages this write freed from reuse.
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(out)
    }

    /// The entries as of the last committed write.
    fn entries(&self) -> Result<Arc<Entries>, Error> {
        let writes = self.writes.load(Ordering::Acquire);
        let mut snapshot = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, entries)) = snapshot.as_ref()
            && *at == writes
        {
            return Ok(entries.clone());
        }
        let entries = Arc::new(
            self.db
                .begin_read()
                .map_err(failed)?
                .open_table(ENTRIES)
                .map_err(failed)?,
        );
        *snapshot = Some((writes, entries.clone()));
        Ok(entries)
    }

    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.read(key)?.value)
    }

    pub(crate) fn read(&self, key: &str) -> Result<Versioned, Error> {
        let table = self.entries()?;
        let stored = table.get(key).map_err(failed)?;
        Ok(versioned(stored.as_ref().map(|s| s.value())))
    }

    pub(crate) fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), Error> {
        self.write(|txn| pairs.iter().try_for_each(|(k, v)| put(txn, k, v)))
    }

    pub(crate) fn delete_many(&self, keys: &[String]) -> Result<(), Error> {
        self.write(|txn| {
            let mut table = txn.open_table(ENTRIES).map_err(failed)?;
            for key in keys {
                table.remove(key.as_str()).map_err(failed)?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, Error> {
        let table = self.entries()?;
        let start = cursor.map_or(Bound::Unbounded, Bound::Excluded);
        let mut keys = Vec::new();
        for entry in table
            .range::<&str>((start, Bound::Unbounded))
            .map_err(failed)?
            .take(crate::PAGE + 1)
        {
            keys.push(entry.map_err(failed)?.0.value().to_string());
        }
        Ok(page_after(keys.iter().map(String::as_str), None))
    }

    pub(crate) fn increment(&self, key: &str, delta: i64) -> Result<i64, Error> {
        self.write(|txn| {
            let now = current(txn, key)?;
            let next = add(key, now.value.as_deref(), delta)?;
            put(txn, key, next.to_string().as_bytes())?;
            Ok(next)
        })
    }

    pub(crate) fn swap(&self, key: &str, revision: u64, value: Vec<u8>) -> Result<Swap, Error> {
        self.write(|txn| {
            if current(txn, key)?.revision != revision {
                return Ok(Swap::Changed);
            }
            put(txn, key, &value)?;
            Ok(Swap::Done)
        })
    }
}
