//! `kv`: a component that keeps its data in key-value stores the host
//! grants (`--kv NAME[=URL]`), through `wasi:keyvalue`, never in files.

wit_bindgen::generate!({
    path: ["../../crates/nanopod-host/wit/keyvalue", "wit"],
    world: "nanopod:kv/kv",
    generate_all,
});

use wasi::keyvalue::{atomics, batch, store};

struct Kv;

fn describe(e: store::Error) -> String {
    match e {
        store::Error::NoSuchStore => "no such store".into(),
        store::Error::AccessDenied => "access denied".into(),
        store::Error::Other(m) => m,
    }
}

fn open(name: &str) -> Result<store::Bucket, String> {
    store::open(name).map_err(|e| format!("store `{name}`: {}", describe(e)))
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Guest for Kv {
    fn get(store: String, key: String) -> Result<Option<String>, String> {
        Ok(open(&store)?.get(&key).map_err(describe)?.map(text))
    }

    fn set(store: String, key: String, value: String) -> Result<(), String> {
        open(&store)?.set(&key, value.as_bytes()).map_err(describe)
    }

    fn get_bytes(store: String, key: String) -> Result<Option<Vec<u8>>, String> {
        open(&store)?.get(&key).map_err(describe)
    }

    fn set_bytes(store: String, key: String, value: Vec<u8>) -> Result<(), String> {
        open(&store)?.set(&key, &value).map_err(describe)
    }

    fn set_large(store: String, key: String, size: u32) -> Result<(), String> {
        open(&store)?
            .set(&key, &vec![7; size as usize])
            .map_err(describe)
    }

    fn delete(store: String, key: String) -> Result<(), String> {
        open(&store)?.delete(&key).map_err(describe)
    }

    fn exists(store: String, key: String) -> Result<bool, String> {
        open(&store)?.exists(&key).map_err(describe)
    }

    fn keys(store: String) -> Result<Vec<String>, String> {
        let bucket = open(&store)?;
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = bucket.list_keys(cursor.as_deref()).map_err(describe)?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    fn increment(store: String, key: String, delta: i64) -> Result<i64, String> {
        atomics::increment(&open(&store)?, &key, delta).map_err(describe)
    }

    fn bump(store: String, key: String, times: u32) -> Result<i64, String> {
        let bucket = open(&store)?;
        let mut last = 0;
        for _ in 0..times {
            last = atomics::increment(&bucket, &key, 1).map_err(describe)?;
        }
        Ok(last)
    }

    fn swap(
        store: String,
        key: String,
        expected: Option<String>,
        value: String,
    ) -> Result<bool, String> {
        let cas = atomics::Cas::new(&open(&store)?, &key).map_err(describe)?;
        if cas.current().map_err(describe)?.map(text) != expected {
            return Ok(false);
        }
        match atomics::swap(cas, value.as_bytes()) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(describe(e)),
        }
    }

    fn fill(store: String, prefix: String, count: u32) -> Result<(), String> {
        let bucket = open(&store)?;
        for i in 0..count {
            bucket
                .set(&format!("{prefix}-{i}"), i.to_string().as_bytes())
                .map_err(describe)?;
            println!("set {i}");
        }
        Ok(())
    }

    fn set_many(store: String, pairs: Vec<(String, String)>) -> Result<(), String> {
        let pairs: Vec<(String, Vec<u8>)> =
            pairs.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
        batch::set_many(&open(&store)?, &pairs).map_err(describe)
    }

    fn get_many(store: String, keys: Vec<String>) -> Result<Vec<Option<String>>, String> {
        let found = batch::get_many(&open(&store)?, &keys).map_err(describe)?;
        Ok(found.into_iter().map(|kv| kv.map(|(_, v)| text(v))).collect())
    }

    fn set_loop(store: String, keys: u32, rounds: u32) -> Result<(), String> {
        let bucket = open(&store)?;
        let value = [b'v'; 100];
        for _ in 0..rounds {
            for i in 0..keys {
                bucket.set(&format!("bench-{i}"), &value).map_err(describe)?;
            }
        }
        Ok(())
    }

    fn get_loop(store: String, keys: u32, rounds: u32) -> Result<u64, String> {
        let bucket = open(&store)?;
        let mut bytes = 0;
        for _ in 0..rounds {
            for i in 0..keys {
                let value = bucket.get(&format!("bench-{i}")).map_err(describe)?;
                bytes += value.map_or(0, |v| v.len() as u64);
            }
        }
        Ok(bytes)
    }
}

export!(Kv);
