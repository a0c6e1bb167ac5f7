//! A WASI 0.3 command: exports `wasi:cli/run@0.3.0`, prints its arguments
//! through `wasi:cli/stdout`'s stream, and fails (exit code 1) when its
//! first argument is `fail`.

wit_bindgen::generate!({ path: "wit", world: "hello", generate_all });

use wasi::cli::{environment, stdout};

struct Hello;

impl exports::wasi::cli::run::Guest for Hello {
    async fn run() -> Result<(), ()> {
        let args = environment::get_arguments();
        let (mut tx, rx) = wit_stream::new();
        let done = stdout::write_via_stream(rx);
        let line = format!("hello from WASI 0.3: {}\n", args.join(" "));
        tx.write_all(line.into_bytes()).await;
        drop(tx);
        done.await.map_err(|_| ())?;
        if args.get(1).map(String::as_str) == Some("fail") {
            return Err(());
        }
        Ok(())
    }
}

export!(Hello);
