//! proxy-wasm filters nanopod's authors did not write: the AssemblyScript
//! SDK's published hello-world filter (`@solo-io/proxy-runtime` on npm),
//! built in the test setup from the code in the package's own README, and
//! served unchanged.

use crate::support::*;
use std::path::PathBuf;
use std::process::Command;

/// The SDK and compiler versions the example is built with.
const SDK: &str = "@solo-io/proxy-runtime@0.1.8";
const COMPILER: &str = "assemblyscript@0.14.13";

/// Installs the SDK from npm, takes the "Hello, World" filter from its
/// README and compiles it as the README says (`asc … --use
/// abort=abort_proc_exit --optimize`). Once per test run.
fn hello_world_filter() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("assemblyscript-hello");
            npm_install(&dir, &[SDK, COMPILER]);
            std::fs::create_dir_all(dir.join("assembly")).unwrap();
            let readme =
                std::fs::read_to_string(dir.join("node_modules/@solo-io/proxy-runtime/README.md"))
                    .unwrap();
            let hello = &readme[readme
                .find("# Hello, World")
                .expect("the README's hello world")..];
            let code = hello
                .split("```ts\n")
                .nth(1)
                .and_then(|rest| rest.split("```").next())
                .expect("the hello world's code block");
            std::fs::write(dir.join("assembly/index.ts"), code).unwrap();
            std::fs::write(
                dir.join("assembly/tsconfig.json"),
                r#"{"extends": "assemblyscript/std/assembly.json", "include": ["./**/*.ts"]}"#,
            )
            .unwrap();
            let out = dir.join("hello.wasm");
            let status = Command::new("npx")
                .current_dir(&dir)
                .args(["asc", "assembly/index.ts", "-b"])
                .arg(&out)
                .args(["--use", "abort=abort_proc_exit", "--optimize"])
                .status()
                .expect("npx");
            assert!(status.success(), "asc failed");
            out
        })
        .clone()
}

#[test]
fn the_assemblyscript_sdks_hello_world_filter_adds_its_header() {
    let filter = hello_world_filter();
    // As its README configures it for Envoy: root id `add_header`, and a
    // configuration the filter puts in the header.
    let server = serve_in_front_of_the_app(
        &filter,
        "root-id = \"add_header\"\nconfig = \"what ever you want\"",
    );
    for _ in 0..3 {
        let reply = http(&server.addr, "GET", "/items", &[], b"");
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            reply.header("hello"),
            Some("what ever you want"),
            "{reply:?}"
        );
        assert!(reply.body.contains("apple"), "{}", reply.body);
    }
}
