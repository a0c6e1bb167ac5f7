//! A WASI 0.3 command: exports `wasi:cli/run@0.3.0`, prints its arguments
//! through `wasi:cli/stdout`'s stream, and fails (exit code 1) when its
//! first argument is `fail`. `ln TARGET LINK` instead creates a symlink in
//! its first preopened directory (WASI 0.3's `symlink-at`) and prints `ok`
//! or `error: CODE`.

wit_bindgen::generate!({ path: "wit", world: "hello", generate_all });

use wasi::cli::{environment, stdout};
use wasi::filesystem::preopens;
use wasi::filesystem::types::ErrorCode;

struct Hello;

impl exports::wasi::cli::run::Guest for Hello {
    async fn run() -> Result<(), ()> {
        let args = environment::get_arguments();
        let line = match args.get(1).map(String::as_str) {
            Some("ln") => symlink(&args[2..]).await,
            _ => format!("hello from WASI 0.3: {}\n", args.join(" ")),
        };
        let (mut tx, rx) = wit_stream::new();
        let done = stdout::write_via_stream(rx);
        tx.write_all(line.into_bytes()).await;
        drop(tx);
        done.await.map_err(|_| ())?;
        if args.get(1).map(String::as_str) == Some("fail") {
            return Err(());
        }
        Ok(())
    }
}

/// `ln TARGET LINK` in the first preopened directory.
async fn symlink(args: &[String]) -> String {
    let [target, link] = args else {
        return "error: usage: ln TARGET LINK\n".into();
    };
    let Some((dir, _)) = preopens::get_directories().into_iter().next() else {
        return "error: no directory granted\n".into();
    };
    match dir.symlink_at(target.clone(), link.clone()).await {
        Ok(()) => "ok\n".into(),
        Err(ErrorCode::NotPermitted) => "error: not-permitted\n".into(),
        Err(other) => format!("error: {other:?}\n"),
    }
}

export!(Hello);
