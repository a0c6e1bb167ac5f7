//! `nats://HOST:PORT/BUCKET`: a NATS JetStream key-value bucket (created
//! when missing, one revision of history). A key's revision is its
//! JetStream sequence, and writes that must not lose an update
//! (increment, swap) are published with the revision they expect, so they
//! stay atomic across hosts. NATS allows keys of letters, digits and
//! `-/_=.` only; others are refused with the server's reason.

use crate::{Error, KeyPage, MAX_VALUE, Swap, Versioned, add, page_after};
use async_nats::jetstream::kv::{self, Operation, UpdateErrorKind};
use async_nats::jetstream::stream;
use futures::TryStreamExt;
use std::time::Duration;

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an increment retries after losing a race to another writer.
const INCREMENT_RETRIES: usize = 10_000;

pub(crate) struct NatsStore {
    bucket: kv::Store,
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::backend("nats", e)
}

impl NatsStore {
    /// Connects to `server` and opens (creating if missing) `bucket`.
    pub(crate) async fn connect(server: &str, bucket: &str) -> Result<NatsStore, Error> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(server)
            .await
            .map_err(|e| Error::Backend(format!("cannot reach {server}: {e}")))?;
        let js = async_nats::jetstream::new(client);
        let cannot_open = |e: &dyn std::fmt::Display| {
            Error::Backend(format!("cannot open bucket {bucket} on {server}: {e}"))
        };
        let bucket = match js.get_key_value(bucket).await {
            Ok(b) => b,
            Err(_) => {
                // The bucket's stream as `create_key_value` would make it,
                // made directly: that call also reads the account's limits,
                // an answer async-nats cannot parse from servers before
                // 2.10 (Debian's 2.9 among them).
                let made = js
                    .get_or_create_stream(stream::Config {
                        name: format!("KV_{bucket}"),
                        subjects: vec![format!("$KV.{bucket}.>")],
                        max_messages_per_subject: 1,
                        max_message_size: MAX_VALUE as i32 + 1024,
                        discard: stream::DiscardPolicy::New,
                        allow_rollup: true,
                        deny_delete: true,
                        allow_direct: true,
                        num_replicas: 1,
                        storage: stream::StorageType::File,
                        ..Default::default()
                    })
                    .await;
                // Another host may have made it in the meantime: open it
                // all the same, and report the creation's error otherwise.
                match (js.get_key_value(bucket).await, made) {
                    (Ok(b), _) => b,
                    (Err(e), Ok(_)) => return Err(cannot_open(&e)),
                    (Err(_), Err(e)) => return Err(cannot_open(&e)),
                }
            }
        };
        Ok(NatsStore { bucket })
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let value = self.bucket.get(key).await.map_err(failed)?;
        Ok(value.map(Vec::from))
    }

    pub(crate) async fn read(&self, key: &str) -> Result<Versioned, Error> {
        Ok(match self.bucket.entry(key).await.map_err(failed)? {
            Some(entry) => Versioned {
                revision: entry.revision,
                value: (entry.operation == Operation::Put).then(|| entry.value.into()),
            },
            None => Versioned {
                revision: 0,
                value: None,
            },
        })
    }

    pub(crate) async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), Error> {
        for (key, value) in pairs {
            self.bucket.put(key, value.into()).await.map_err(failed)?;
        }
        Ok(())
    }

    pub(crate) async fn delete_many(&self, keys: &[String]) -> Result<(), Error> {
        for key in keys {
            self.bucket.delete(key).await.map_err(failed)?;
        }
        Ok(())
    }

    /// NATS lists keys unsorted and all at once: this sorts them and pages
    /// as the other stores do.
    pub(crate) async fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, Error> {
        let mut keys: Vec<String> = self
            .bucket
            .keys()
            .await
            .map_err(failed)?
            .try_collect()
            .await
            .map_err(failed)?;
        keys.sort_unstable();
        Ok(page_after(keys.iter().map(String::as_str), cursor))
    }

    pub(crate) async fn increment(&self, key: &str, delta: i64) -> Result<i64, Error> {
        for _ in 0..INCREMENT_RETRIES {
            let now = self.read(key).await?;
            let next = add(key, now.value.as_deref(), delta)?;
            let text = next.to_string().into_bytes();
            if self.swap(key, now.revision, text).await? == Swap::Done {
                return Ok(next);
            }
        }
        Err(Error::Backend(format!(
            "increment of {key:?} lost {INCREMENT_RETRIES} races in a row"
        )))
    }

    pub(crate) async fn swap(
        &self,
        key: &str,
        revision: u64,
        value: Vec<u8>,
    ) -> Result<Swap, Error> {
        match self.bucket.update(key, value.into(), revision).await {
            Ok(_) => Ok(Swap::Done),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(Swap::Changed),
            Err(e) => Err(failed(e)),
        }
    }
}
