//! A component filter in JavaScript, built with componentize-js (npm) in
//! the test setup, as its users build one.

use crate::support::*;
use std::path::PathBuf;
use std::process::Command;

/// The toolchain the filter is built with. componentize-js 0.23.0 imports
/// preview2-shim without declaring it, so a second `npm install` in the
/// same directory would prune it: it is named here too.
const TOOLCHAIN: &[&str] = &[
    "@bytecodealliance/componentize-js@0.23.0",
    "@bytecodealliance/preview2-shim@0.25.0",
];

#[test]
fn a_javascript_component_filter_runs_synchronously_in_front_of_the_app() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("componentize-js");
    npm_install(&dir, TOOLCHAIN);
    let out = dir.join("js-filter.wasm");
    let status = Command::new("npx")
        .current_dir(&dir)
        .arg("componentize-js")
        .arg(root.join("tests/fixtures/js-filter/filter.js"))
        .arg("-w")
        .arg(root.join("crates/nanopod-serve/wit"))
        .args(["-n", "http-filter", "-o"])
        .arg(&out)
        .status()
        .expect("npx");
    assert!(status.success(), "componentize-js failed");
    assert_the_key_filter_in("javascript", "js", "js-key", &out);
}
