//! Key-value stores through `wasi:keyvalue` (0.2.0-draft2: store,
//! atomics, batch), served by [`nanopod_keyvalue`]: `--kv NAME[=URL]` and
//! pod.toml's `[keyvalue.NAME]` with a component's `keyvalue = [NAME]`
//! grant. Default: no stores; `open` of a name not granted answers
//! `access-denied`. Denied in a composition by a trapping adapter.

use super::{CapabilitySpec, Denial};
use crate::store::HostState;
use nanopod_keyvalue::{Store, StoreUrl, Swap, Versioned};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker, Resource};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/keyvalue",
        world: "imports",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
            "wasi:keyvalue/atomics.cas": super::Cas,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

/// Key-value's entry in the capability table.
pub const SPEC: CapabilitySpec = CapabilitySpec {
    name: "keyvalue",
    grant: "--kv NAME[=URL]",
    interfaces: &["wasi:keyvalue/*"],
    entry_points: &["wasi:keyvalue/store"],
    flags: &["--kv"],
    manifest_keys: &["keyvalue"],
    denial: Denial::Trap,
};

/// The most bytes one `get-many` returns (ask for fewer keys past it).
pub const MAX_BATCH: usize = 16 << 20;

/// The stores one component may open, by the name it opens them with.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyvalueGrant {
    stores: BTreeMap<String, StoreUrl>,
}

impl KeyvalueGrant {
    pub(crate) fn set(&mut self, name: String, url: StoreUrl) {
        self.stores.insert(name, url);
    }

    pub(crate) fn url(&self, name: &str) -> Option<&StoreUrl> {
        self.stores.get(name)
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.stores.keys().map(String::as_str)
    }

    /// What is granted, in a comparable form: empty when nothing.
    pub(crate) fn measure(&self) -> Vec<String> {
        self.stores
            .iter()
            .map(|(n, u)| format!("{n}={u}"))
            .collect()
    }

    pub(crate) fn merge(&mut self, other: &KeyvalueGrant) {
        self.stores
            .extend(other.stores.iter().map(|(n, u)| (n.clone(), u.clone())));
    }

    /// Opens every granted store now, so that a store that cannot be
    /// opened (an unreachable server, a file another process holds) stops
    /// the command before the guest runs.
    pub(crate) async fn open_all(&self) -> Result<(), String> {
        for (name, url) in &self.stores {
            nanopod_keyvalue::open(url)
                .await
                .map_err(|e| format!("key-value store {name} ({url}): {e}"))?;
        }
        Ok(())
    }
}

/// An open bucket: the guest's handle on a store.
pub struct Bucket {
    store: Arc<Store>,
}

/// A key as it was read, for `swap`.
pub struct Cas {
    store: Arc<Store>,
    key: String,
    seen: Versioned,
}

fn other(e: nanopod_keyvalue::Error) -> store::Error {
    store::Error::Other(e.to_string())
}

type Answer<T> = wasmtime::Result<Result<T, store::Error>>;

impl HostState {
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<Arc<Store>> {
        Ok(self.table_ref().get(bucket)?.store.clone())
    }
}

impl store::Host for HostState {
    async fn open(&mut self, identifier: String) -> Answer<Resource<Bucket>> {
        let Some(url) = self.keyvalue().stores.get(&identifier) else {
            return Ok(Err(store::Error::AccessDenied));
        };
        match nanopod_keyvalue::open(url).await {
            Ok(store) => Ok(Ok(self.table().push(Bucket { store })?)),
            Err(e) => Ok(Err(other(e))),
        }
    }
}

impl store::HostBucket for HostState {
    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Option<Vec<u8>>> {
        Ok(self.bucket(&bucket)?.get(&key).await.map_err(other))
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> Answer<()> {
        Ok(self.bucket(&bucket)?.set(&key, value).await.map_err(other))
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<()> {
        Ok(self.bucket(&bucket)?.delete(&key).await.map_err(other))
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<bool> {
        Ok(self.bucket(&bucket)?.exists(&key).await.map_err(other))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Answer<store::KeyResponse> {
        let page = self.bucket(&bucket)?.list_keys(cursor.as_deref()).await;
        Ok(page
            .map(|p| store::KeyResponse {
                keys: p.keys,
                cursor: p.cursor,
            })
            .map_err(other))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table().delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for HostState {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Answer<i64> {
        Ok(self
            .bucket(&bucket)?
            .increment(&key, delta)
            .await
            .map_err(other))
    }

    async fn swap(
        &mut self,
        cas: Resource<Cas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let Cas { store, key, seen } = self.table().delete(cas)?;
        let failed = |e| Ok(Err(atomics::CasError::StoreError(other(e))));
        match store.swap(&key, seen.revision, value).await {
            Ok(Swap::Done) => Ok(Ok(())),
            Ok(Swap::Changed) => match store.read(&key).await {
                Ok(seen) => {
                    let retry = self.table().push(Cas { store, key, seen })?;
                    Ok(Err(atomics::CasError::CasFailed(retry)))
                }
                Err(e) => failed(e),
            },
            Err(e) => failed(e),
        }
    }
}

impl atomics::HostCas for HostState {
    async fn new(&mut self, bucket: Resource<Bucket>, key: String) -> Answer<Resource<Cas>> {
        let store = self.bucket(&bucket)?;
        match store.read(&key).await {
            Ok(seen) => Ok(Ok(self.table().push(Cas { store, key, seen })?)),
            Err(e) => Ok(Err(other(e))),
        }
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Answer<Option<Vec<u8>>> {
        Ok(Ok(self.table_ref().get(&cas)?.seen.value.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table().delete(cas)?;
        Ok(())
    }
}

impl batch::Host for HostState {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Answer<Vec<Option<(String, Vec<u8>)>>> {
        let store = self.bucket(&bucket)?;
        let mut out = Vec::with_capacity(keys.len());
        let mut bytes = 0;
        for key in keys {
            match store.get(&key).await {
                Ok(Some(value)) => {
                    bytes += key.len() + value.len();
                    if bytes > MAX_BATCH {
                        return Ok(Err(store::Error::Other(format!(
                            "get-many would return more than {} MiB; ask for fewer keys",
                            MAX_BATCH >> 20
                        ))));
                    }
                    out.push(Some((key, value)));
                }
                Ok(None) => out.push(None),
                Err(e) => return Ok(Err(other(e))),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Answer<()> {
        Ok(self
            .bucket(&bucket)?
            .set_many(key_values)
            .await
            .map_err(other))
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Answer<()> {
        Ok(self.bucket(&bucket)?.delete_many(keys).await.map_err(other))
    }
}

/// Links `wasi:keyvalue` (store, atomics, batch) to the granted stores.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::Imports::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}
