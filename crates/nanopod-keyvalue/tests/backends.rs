//! One suite, every backend: the in-memory store, the embedded file
//! store, and a NATS JetStream bucket on a real `nats-server -js`.

use nanopod_keyvalue::{Error, MAX_KEY, MAX_VALUE, PAGE, Store, StoreUrl, Swap, open};
use std::path::Path;
use std::sync::Arc;
use test_support::NatsServer;

async fn suite(store: Arc<Store>) {
    // Values round-trip byte for byte; a missing key is none.
    let bytes: Vec<u8> = (0..=255).collect();
    store.set("bytes", bytes.clone()).await.unwrap();
    assert_eq!(store.get("bytes").await.unwrap(), Some(bytes));
    store.set("empty", Vec::new()).await.unwrap();
    assert_eq!(store.get("empty").await.unwrap(), Some(Vec::new()));
    assert_eq!(store.get("missing").await.unwrap(), None);
    assert!(store.exists("bytes").await.unwrap());
    assert!(!store.exists("missing").await.unwrap());

    // Delete, also of a missing key.
    store.delete("bytes").await.unwrap();
    store.delete("missing").await.unwrap();
    assert_eq!(store.get("bytes").await.unwrap(), None);

    // Pages of keys, in order, resuming at the cursor.
    let pairs: Vec<(String, Vec<u8>)> = (0..PAGE + 5)
        .map(|i| (format!("page.{i:05}"), vec![1]))
        .collect();
    store.set_many(pairs).await.unwrap();
    let first = store.list_keys(None).await.unwrap();
    assert_eq!(first.keys.len(), PAGE);
    assert_eq!(first.keys[0], "empty");
    let second = store.list_keys(first.cursor.as_deref()).await.unwrap();
    assert_eq!(second.keys.len(), 6);
    assert_eq!(second.keys.last().unwrap(), "page.01004");
    assert_eq!(second.cursor, None);
    let all: Vec<String> = (0..PAGE + 5).map(|i| format!("page.{i:05}")).collect();
    store.delete_many(all).await.unwrap();
    assert_eq!(store.list_keys(None).await.unwrap().keys, ["empty"]);

    // Counters are decimal text; something else is refused.
    assert_eq!(store.increment("hits", 5).await.unwrap(), 5);
    assert_eq!(store.increment("hits", -2).await.unwrap(), 3);
    assert_eq!(store.get("hits").await.unwrap(), Some(b"3".to_vec()));
    store.set("text", b"hello".to_vec()).await.unwrap();
    assert!(matches!(
        store.increment("text", 1).await,
        Err(Error::NotAnInteger(_))
    ));

    // Compare-and-swap: a stale revision writes nothing.
    let seen = store.read("cas").await.unwrap();
    assert_eq!(seen.value, None);
    assert_eq!(
        store
            .swap("cas", seen.revision, b"one".to_vec())
            .await
            .unwrap(),
        Swap::Done
    );
    assert_eq!(
        store
            .swap("cas", seen.revision, b"two".to_vec())
            .await
            .unwrap(),
        Swap::Changed
    );
    let now = store.read("cas").await.unwrap();
    assert_eq!(now.value.as_deref(), Some(&b"one"[..]));
    store.set("cas", b"other".to_vec()).await.unwrap();
    assert_eq!(
        store
            .swap("cas", now.revision, b"three".to_vec())
            .await
            .unwrap(),
        Swap::Changed
    );
    assert_eq!(store.get("cas").await.unwrap(), Some(b"other".to_vec()));

    // Limits: an error, and nothing written.
    assert!(matches!(
        store.set("big", vec![0; MAX_VALUE + 1]).await,
        Err(Error::ValueTooLarge(_))
    ));
    assert!(matches!(
        store.get(&"k".repeat(MAX_KEY + 1)).await,
        Err(Error::KeyTooLong(_))
    ));
    assert_eq!(store.get("big").await.unwrap(), None);

    // Concurrent increments lose no update.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    store.increment("race", 1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.get("race").await.unwrap(), Some(b"100".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store() {
    suite(open(&StoreUrl::Memory("suite".into())).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse("file://sub/dir/kv.redb", dir.path()).unwrap();
    suite(open(&url).await.unwrap()).await;
    assert!(dir.path().join("sub/dir/kv.redb").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_bucket() {
    let nats = NatsServer::start_jetstream();
    let url = StoreUrl::parse(&format!("nats://{}/suite", nats.addr()), Path::new("/")).unwrap();
    let store = open(&url).await.unwrap();
    suite(store.clone()).await;
    // NATS allows fewer keys than the others, and says so.
    let err = store.get("a key").await.unwrap_err();
    assert!(err.to_string().contains("nats"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_an_error() {
    let port = test_support::free_port();
    let url = StoreUrl::parse(&format!("nats://127.0.0.1:{port}/b"), Path::new("/")).unwrap();
    let err = open(&url).await.unwrap_err();
    assert!(err.to_string().contains("cannot reach"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_is_bounded() {
    let store = open(&StoreUrl::Memory("bounded".into())).await.unwrap();
    let mut result = Ok(());
    for i in 0..100 {
        result = store.set(&format!("k{i}"), vec![0; MAX_VALUE]).await;
        if result.is_err() {
            break;
        }
    }
    assert!(matches!(result, Err(Error::Full)), "{result:?}");
    // Overwriting within the bound still works.
    store.set("k0", vec![1]).await.unwrap();
}
