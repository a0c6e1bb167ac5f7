//! `inspect`, `compile`, `embed-docs`, the compile cache, and loading
//! components nanopod cannot link.

use crate::support::*;
use test_programs_artifacts::{HELLO_P1, KITCHEN, LEGACY, SETTINGS, WC};

fn inspect_json(path: &str) -> serde_json::Value {
    let o = run(&["inspect", "--json", path]);
    assert_exit(&o, 0);
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn inspect_groups_imports_as_capabilities_with_their_flags() {
    let v = inspect_json(guest(LEGACY));
    assert_eq!(v["kind"], "component");
    assert_eq!(v["engine"], "sync");
    let caps = &v["capabilities"];
    assert_eq!(
        caps["filesystem"]["grant"],
        "--dir HOST[::GUEST] or --ro-dir HOST[::GUEST]"
    );
    assert!(
        caps["environment"]["grant"]
            .as_str()
            .unwrap()
            .starts_with("--env")
    );
    assert_eq!(
        caps["network"]["grant"],
        "--allow-tcp HOST:PORT, --allow-listen ADDR:PORT, --allow-udp HOST:PORT, --allow-dns"
    );
    assert!(
        v["wasi"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x.as_str().unwrap().starts_with("0.2"))
    );
    let exports = v["exports"].as_array().unwrap();
    assert!(
        exports
            .iter()
            .any(|e| e["name"].as_str().unwrap().starts_with("wasi:cli/run@0.2"))
    );
}

#[test]
fn inspect_names_the_flags_of_configuration() {
    let v = inspect_json(guest(SETTINGS));
    assert_eq!(
        v["capabilities"]["config"]["grant"],
        "--var KEY=VALUE or --var-file FILE.toml"
    );
}

#[test]
fn inspect_shows_signatures_and_docs() {
    let v = inspect_json(guest(WC));
    assert_eq!(v["engine"], "concurrent");
    let e = &v["exports"][0];
    assert_eq!(e["signature"], "wc: async func(text: stream<u8>) -> counts");
    assert_eq!(e["docs"], "Count the lines, words and bytes of `text`.");
    let v = inspect_json(guest(KITCHEN));
    assert!(v["capabilities"].get("filesystem").is_none());
}

/// The text is pinned by tests/golden/inspect-core-module.golden.
#[test]
fn inspect_core_module() {
    let v = inspect_json(guest(HELLO_P1));
    assert_eq!(v["kind"], "core module");
    assert_eq!(v["wasi"][0], "preview1");
}

#[test]
fn compile_fills_the_cache_and_run_uses_it() {
    let cache = tempfile::tempdir().unwrap();
    let with_cache = |args: &[&str]| run_cached(cache.path(), args);
    let o = with_cache(&["compile", guest(KITCHEN)]);
    assert_exit(&o, 0);
    assert!(stderr(&o).contains("compiled and cached"), "{}", stderr(&o));
    let entries = || -> Vec<std::path::PathBuf> {
        let mut e: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        e.sort();
        e
    };
    // The compiled code and its digest.
    assert_eq!(entries().len(), 2, "{:?}", entries());
    let o = with_cache(&["compile", guest(KITCHEN)]);
    assert!(stderr(&o).contains("already cached"), "{}", stderr(&o));
    let o = with_cache(&["-v", "run", guest(KITCHEN), "--invoke", "add", "1", "1"]);
    assert_exit(&o, 0);
    assert!(stderr(&o).contains("cache=Hit"), "{}", stderr(&o));
    // A corrupt entry is ignored and replaced, never trusted.
    let entry = entries()
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    std::fs::write(&entry, b"garbage").unwrap();
    let o = with_cache(&["run", guest(KITCHEN), "--invoke", "add", "1", "1"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "2\n");
}

#[test]
fn embed_docs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let wit = dir.path().join("k.wit");
    std::fs::write(
        &wit,
        "package t:t;\nworld w {\n  /// Adds, with new words.\n  export add: func(a: u32, b: u32) -> u32;\n}\n",
    )
    .unwrap();
    let out = dir.path().join("k.wasm");
    let o = run(&[
        "embed-docs",
        guest(KITCHEN),
        "--wit",
        wit.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let o = run(&["run", out.to_str().unwrap(), "--invoke", "add", "--help"]);
    assert!(
        stdout(&o).starts_with("Adds, with new words."),
        "{}",
        stdout(&o)
    );
    // The embedded component still runs, and --wit overrides embedded docs.
    let o = run(&["run", out.to_str().unwrap(), "--invoke", "add", "2", "2"]);
    assert_eq!(stdout(&o), "4\n");
    let o = run(&[
        "embed-docs",
        "missing.wasm",
        "--wit",
        wit.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 2);
}

#[test]
fn unknown_import_fails_before_running_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("needs.wasm");
    let wasm = wat::parse_str(
        r#"(component
             (import "example:missing/thing@1.0.0" (instance (export "poke" (func))))
             (core module $m (func (export "f") (result i32) i32.const 7))
             (core instance $i (instantiate $m))
             (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
    )
    .unwrap();
    std::fs::write(&path, wasm).unwrap();
    let o = run(&["run", path.to_str().unwrap()]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("example:missing/thing@1.0.0"), "{err}");
    assert!(
        err.starts_with("error: the component needs an import nanopod cannot provide"),
        "{err}"
    );
    // inspect still describes it, naming the import and that it cannot be provided.
    let o = run(&["inspect", path.to_str().unwrap()]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("not provided by nanopod"),
        "{}",
        stdout(&o)
    );
}
